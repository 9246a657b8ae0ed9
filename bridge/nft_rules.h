// The firewall of the rootless netns as one nftables table of our own.
//
// Theory of operation: the whole table `inet netd` is a pure function of the
// networks (and their published ports). Every change regenerates it and
// replaces it in one libnftables transaction ("add table; delete table;
// table { ... }"), so a rule exists exactly as long as its network or
// container does, and a crash between calls cannot leave half a rule set.
// Each rule carries a comment "netd:NETWORK:PURPOSE" that the applier checks
// back after the transaction (expected_comments()).
//
//   forward     isolation between networks; internal networks forward nothing
//               in or out of their bridge; a network without
//               allow_host_loopback is refused the outward engine's gateway
//               (10.0.2.2, which leads to the host's loopback when the engine
//               maps it) but for replies of published ports' connections
//   input       DNS (udp/tcp 53) to a network's gateway accepted; internal
//               networks reach no other local address (IPv6: nor any but the
//               gateway, multicast and link-local, which neighbour discovery
//               needs); other networks not the namespace's 127.0.0.0/8 but
//               for replies of DNAT'd connections
// Isolation and the internal drops match interfaces, so they hold for IPv6
// too. IPv6 is not masqueraded: the outward engine carries IPv4 only here.
//   prerouting  DNAT of published ports (destination is a local address)
//               arriving through the outward engine's tap
//   output      the same DNAT for connections made inside the rootless netns
//               (published_ports.h: which one applies depends on the carrier)
//   postrouting masquerade of traffic leaving a subnet, except to multicast
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/net/ip.h"

namespace netd::bridge {

inline constexpr const char* kNftFamily = "inet";
inline constexpr const char* kNftTable = "netd";
// The outward engine's gateway as the rootless netns sees it (slirp4netns'
// 10.0.2.2): the way to the host's loopback when the engine maps it.
inline constexpr const char* kOutwardGateway = "10.0.2.2";

struct PortMapping {
  std::string protocol = "tcp";  // "tcp" or "udp"
  uint16_t host_port = 0;
  uint16_t container_port = 0;
  net::Ipv4Addr container_ip;
  std::string container;  // for the rule comment
};

struct FirewallNetwork {
  std::string name;    // network name (validated charset: safe in comments)
  std::string bridge;  // interface name of its bridge
  net::Ipv4Cidr subnet;     // network address + prefix
  net::Ipv4Addr gateway;
  bool internal = false;
  bool dns_enabled = true;
  bool allow_host_loopback = false;  // may reach kOutwardGateway (the host's loopback)
  std::vector<PortMapping> ports;
  std::optional<net::Ipv6Cidr> subnet6;  // --ipv6 networks
  net::Ipv6Addr gateway6;
};

// The nftables script that replaces table inet netd with the rules for `nets`.
// With no networks it only deletes the table.
std::string nft_script(const std::vector<FirewallNetwork>& nets);

// Comments that must appear in `list table inet netd` after nft_script(nets) ran.
std::vector<std::string> expected_comments(const std::vector<FirewallNetwork>& nets);

}  // namespace netd::bridge
