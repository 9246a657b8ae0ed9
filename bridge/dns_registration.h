// Name registration: what the embedded DNS server serves for netd's own
// networks, read straight from the files `netd network` keeps.
//
// Theory of operation: the members recorded in each network's state file
// (network_state.h) are the registrations — a member's container name and
// aliases, and its address. dns_configs() turns networks and their states
// into the DNS server's per-network tables (dns/aardvark_config.h's
// NetworkConfig, the same shape aardvark-dns config files parse into): one
// per network that has DNS enabled and at least one member (only then does
// its bridge, and so its gateway address, exist), listening on the gateway,
// forwarding to the network's dns servers when it names any, internal when
// the network is. Pure, so unit tests drive it; load_dns_configs() reads the
// files. There are no aardvark config files in between: connect writes the
// state, the server re-reads it on SIGHUP (dns_service.h).
#pragma once

#include <string>
#include <vector>

#include "bridge/network_config.h"
#include "bridge/network_state.h"
#include "bridge/paths.h"
#include "common/expected.h"
#include "dns/aardvark_config.h"

namespace netd::bridge {

// `states[i]` belongs to `nets[i]`. Problems (an unusable dns server or
// address) skip that item and add one line to `warnings`.
std::vector<dns::NetworkConfig> dns_configs(const std::vector<Network>& nets,
                                            const std::vector<NetworkState>& states,
                                            std::vector<std::string>& warnings);

// dns_configs() of every network in `p`. Fails only when the config dir
// cannot be listed.
Expected<std::vector<dns::NetworkConfig>, std::string> load_dns_configs(const Paths& p,
                                                                        std::vector<std::string>& warnings);

}  // namespace netd::bridge
