// IPAM: which subnet a new network gets, which address a new member gets.
//
// Theory of operation: pure functions over what is already in use. Subnets
// are handed out as the first /24 of 10.89.0.0/16 that overlaps no existing
// network (netavark's default pool). Addresses are host-local: the first host
// of the subnet (or of its lease_range) that is not the network or broadcast
// address, not the gateway and not leased. The caller persists the result in
// the network's state file while holding the state lock (lock.h), which is
// what keeps concurrent connects from handing out one address twice.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bridge/network_config.h"
#include "common/expected.h"
#include "common/net/ip.h"

namespace netd::bridge {

// The default pool and the size of each network taken from it.
inline constexpr const char* kDefaultPool = "10.89.0.0/16";
inline constexpr int kDefaultPrefix = 24;

// First /24 of the default pool overlapping none of `used`.
Expected<net::Ipv4Cidr, std::string> next_free_subnet(const std::vector<net::Ipv4Cidr>& used);

// First free host address of `net` (honouring `range` when given).
Expected<net::Ipv4Addr, std::string> allocate_address(const Ipv4Net& net, const std::optional<LeaseRange>& range,
                                             const std::vector<net::Ipv4Addr>& leased);

// IPv6 (--ipv6): /64s fd89:0:0:N::/64 for N = 0, 1, ... (unique local
// addresses); the gateway is ::1 of the /64 and members get ::2 upward.
inline constexpr const char* kDefaultPool6 = "fd89::/48";
Expected<net::Ipv6Cidr, std::string> next_free_subnet6(const std::vector<net::Ipv6Cidr>& used);
Expected<net::Ipv6Addr, std::string> allocate_address6(const Ipv6Net& net, const std::vector<net::Ipv6Addr>& leased);

// Checks a requested static address: inside the subnet, a host address, not
// the gateway, not leased. Returns an error message or nothing.
std::optional<std::string> check_static_address(const Ipv4Net& net, net::Ipv4Addr want,
                                                const std::vector<net::Ipv4Addr>& leased);

}  // namespace netd::bridge
