// Runtime state of one network: its members (the host-local IPAM leases) and
// what netd created for each, so that disconnect and rm undo exactly that.
//
// Theory of operation: one JSON file per network in the runtime dir
// (paths.h), rewritten whole under the state lock. Each member records the
// container name, its aliases and addresses — this list is also the name
// registration the embedded DNS serves (dns_registration.h) — plus the
// container netns it was connected to, the interface name inside it, the
// host-side veth on the bridge and its published ports with the outward
// engine's forward ids (published_ports.h). Parsing and serialization are
// pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bridge/network_config.h"
#include "common/expected.h"
#include "common/net/ip.h"

namespace netd::bridge {

struct PublishedPort {
  std::string proto = "tcp";  // "tcp" or "udp"
  std::string host_ip;        // as given ("0.0.0.0" by default)
  uint16_t host_port = 0;
  uint16_t container_port = 0;
  uint64_t forward_id = 0;    // id of the outward engine's forward (0: none yet)
  bool operator==(const PublishedPort&) const = default;
};

struct Member {
  std::string container;             // --name
  std::vector<std::string> aliases;  // --alias
  std::string ipv4;                  // leased address, "10.89.0.2"
  std::string ipv6;                  // leased IPv6 address on --ipv6 networks, else ""
  std::string netns;                 // the --netns argument as given (path or pid)
  std::string netns_id;              // "DEV:INO" of that netns: one container on several networks
  std::string interface = "eth0";    // name inside the container
  std::string host_veth;             // veth end on the bridge in the rootless netns
  std::vector<PublishedPort> ports;  // -p
  bool operator==(const Member&) const = default;
};

struct NetworkState {
  std::string network;
  std::vector<Member> members;
  bool operator==(const NetworkState&) const = default;

  const Member* find(std::string_view container) const;
  std::vector<net::Ipv4Addr> leased() const;
  std::vector<net::Ipv6Addr> leased6() const;
};

std::string serialize_state(const NetworkState& s);
Expected<NetworkState, std::string> parse_state(std::string_view text);

}  // namespace netd::bridge
