// Runtime state of one network: its members (the host-local IPAM leases) and
// what netd created for each, so that disconnect and rm undo exactly that.
//
// Theory of operation: one JSON file per network in the runtime dir
// (paths.h), rewritten whole under the state lock. Each member records the
// container name, its aliases and addresses — this list is also the name
// registration the embedded DNS serves (dns_names() renders it in
// aardvark-dns' config format) — plus the container netns it was connected to,
// the interface name inside it and the host-side veth on the bridge.
// Parsing and serialization are pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "bridge/ipv4.h"
#include "bridge/network_config.h"
#include "common/expected.h"

namespace netd::bridge {

struct Member {
  std::string container;             // --name
  std::vector<std::string> aliases;  // --alias
  std::string ipv4;                  // leased address, "10.89.0.2"
  std::string netns;                 // the --netns argument as given (path or pid)
  std::string interface = "eth0";    // name inside the container
  std::string host_veth;             // veth end on the bridge in the rootless netns
  bool operator==(const Member&) const = default;
};

struct NetworkState {
  std::string network;
  std::vector<Member> members;
  bool operator==(const NetworkState&) const = default;

  const Member* find(std::string_view container) const;
  std::vector<Ipv4> leased() const;
};

std::string serialize_state(const NetworkState& s);
Expected<NetworkState, std::string> parse_state(std::string_view text);

// The network's name table in aardvark-dns' config file format: the gateway
// on the first line, then "ID IPV4 IPV6 NAME[,ALIAS...]" per member. The
// member's container name stands in for the container id.
std::string dns_names(const Network& n, const NetworkState& s);

}  // namespace netd::bridge
