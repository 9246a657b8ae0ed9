// The operations behind `netd network ...`: create, ls, inspect, rm,
// connect, disconnect.
//
// Theory of operation: every mutating operation takes the state lock
// (lock.h) first and holds it to the end, so concurrent calls run one after
// another and IPAM never hands out an address twice. Definitions live in the
// config dir (network_config.h), leases and what was created for each member
// in the runtime dir (network_state.h), both written atomically. The order in
// connect is: reserve nothing until the links and forwards exist, then record
// the member, then regenerate the firewall and the DNS server
// (dns_service.h); a failure undoes what it made. The bridge exists while its
// network has members; the rootless netns exists while any network exists
// and something was connected.
//
// Repair: a call can be killed at any instant (crash_point.h names the
// dangerous ones for tests). Before changing anything, connect and disconnect
// reconcile the rootless netns with the records: unrecorded veths and port
// forwards are removed, members whose veth vanished (their container died,
// or the rootless netns was re-created after a reboot) are dropped, bridges
// without members deleted; the firewall and the DNS server are then
// regenerated from the records.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bridge/network_config.h"
#include "bridge/network_state.h"
#include "bridge/paths.h"
#include "common/expected.h"

namespace netd::bridge {

struct CreateOptions {
  std::string name;
  std::optional<std::string> subnet;   // CIDR; default: next free /24 of 10.89.0.0/16
  std::optional<std::string> gateway;  // default: first host of the subnet
  bool internal = false;
  bool disable_dns = false;
  bool ipv6 = false;  // dual stack: also a /64 from fd89::/48
  std::vector<std::string> dns_servers;  // upstreams of the network's DNS (network_dns_servers)
  std::vector<std::string> options;      // -o KEY=VALUE (network_config.h: set_network_option)
};

struct ConnectOptions {
  std::string network;
  std::string netns;  // a netns file path or a pid
  std::string container;
  std::vector<std::string> aliases;
  std::optional<std::string> ip;
  std::string interface = "eth0";
  std::vector<std::string> publish;  // -p specs (published_ports.h)
};

Expected<Network, std::string> create_network(const Paths& p, const CreateOptions& o);
Expected<std::vector<Network>, std::string> list_networks(const Paths& p);
Expected<Network, std::string> load_network(const Paths& p, const std::string& name);
// The network's members; an absent state file means no members.
Expected<NetworkState, std::string> load_state(const Paths& p, const std::string& name);
Expected<void, std::string> remove_network(const Paths& p, const std::string& name);
Expected<Member, std::string> connect_container(const Paths& p, const ConnectOptions& o);
Expected<void, std::string> disconnect_container(const Paths& p, const std::string& network,
                                                 const std::string& container);

// Container names and aliases share the network-name charset.
std::optional<std::string> check_container_name(const std::string& what, const std::string& name);

}  // namespace netd::bridge
