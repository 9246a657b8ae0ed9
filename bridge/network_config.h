// A network's definition in netavark's network JSON format (docs/bridge-networks.md).
//
// Theory of operation: one file per network, NAME.json, in the config dir.
// The struct keeps every field netavark writes that we understand; unknown
// fields are ignored on read (and not written back), so files written by
// netavark and by netd read alike. parse_network() validates what the rest of
// netd relies on (a name, the bridge driver, well-formed subnets whose gateway
// lies inside) and reports the first problem as one line; it never throws.
// Serialization and parsing are pure; file access lives in network_store.h.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.h"
#include "common/net/ip.h"

namespace netd::bridge {

struct LeaseRange {
  std::string start_ip;
  std::string end_ip;
  bool operator==(const LeaseRange&) const = default;
};

struct Subnet {
  std::string subnet;   // "10.89.0.0/24"
  std::string gateway;  // "10.89.0.1" (may be empty in foreign files)
  std::optional<LeaseRange> lease_range;
  bool operator==(const Subnet&) const = default;
};

struct Network {
  std::string name;
  std::string id;                 // 64 hex digits
  std::string driver = "bridge";
  std::string network_interface;  // the bridge in the rootless netns
  std::string created;            // RFC 3339, informational
  std::vector<Subnet> subnets;
  bool ipv6_enabled = false;
  bool internal = false;
  bool dns_enabled = true;
  std::vector<std::string> network_dns_servers;
  std::map<std::string, std::string> options;
  std::string ipam_driver = "host-local";
  bool operator==(const Network&) const = default;
};

// Pretty-printed JSON text of `n` (netavark's field names).
std::string serialize_network(const Network& n);
// Parses one network file's text. Unknown fields are ignored.
Expected<Network, std::string> parse_network(std::string_view text);

// Network names: [A-Za-z0-9][A-Za-z0-9_.-]*, at most 64 characters (they
// become file names). Returns an error message or nothing.
std::optional<std::string> check_network_name(std::string_view name);

// Network options netd understands (netavark's "options" map; `netd network
// create -o KEY=VALUE`):
//   allow_host_loopback=true|false  containers reach the host's loopback
//     through the outward engine's gateway 10.0.2.2 (default false; the name
//     is podman's for slirp4netns, --network slirp4netns:allow_host_loopback)
inline constexpr const char* kOptAllowHostLoopback = "allow_host_loopback";
// Checks one KEY=VALUE of `create -o` and stores it in `options`; an error
// message for an unknown key or a bad value.
std::optional<std::string> set_network_option(std::map<std::string, std::string>& options, std::string_view kv);
// True when the network was created with allow_host_loopback=true.
bool allows_host_loopback(const Network& n);

// The first IPv4 subnet and its gateway, parsed; nullopt when the network has none.
struct Ipv4Net {
  net::Ipv4Cidr subnet;  // network address + prefix
  net::Ipv4Addr gateway;
};
std::optional<Ipv4Net> first_ipv4(const Network& n);

// The first IPv6 subnet and its gateway (default ::1 of it), when the network has one.
struct Ipv6Net {
  net::Ipv6Cidr subnet;  // network address + prefix
  net::Ipv6Addr gateway;
};
std::optional<Ipv6Net> first_ipv6(const Network& n);

}  // namespace netd::bridge
