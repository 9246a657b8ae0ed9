// IPv6 addresses and /64-style prefixes as plain values, for the IPv6 side
// of dual-stack bridge networks (--ipv6).
//
// Theory of operation: 16 bytes in network order; text conversion through
// inet_pton/inet_ntop here and nowhere else in bridge/. Only what IPAM and
// rule generation need: containment, the n-th address of a prefix, overlap.
// Parsing returns std::nullopt on anything that is not an IPv6 literal
// (or literal/prefix), never throws.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace netd::bridge {

struct Ipv6 {
  std::array<uint8_t, 16> b{};
  auto operator<=>(const Ipv6&) const = default;
};

struct Ipv6Cidr {
  Ipv6 addr;       // as written
  int prefix = 0;  // 0..128

  Ipv6 network() const;
  bool contains(const Ipv6& a) const;
  bool overlaps(const Ipv6Cidr& o) const;
  // The address `n` places after the network address (n < 2^32).
  Ipv6 host(uint32_t n) const;
  bool operator==(const Ipv6Cidr& o) const = default;
};

std::optional<Ipv6> parse_ipv6(std::string_view s);
std::optional<Ipv6Cidr> parse_cidr6(std::string_view s);  // "fd00::/64"; a missing "/len" is rejected
std::string to_string(const Ipv6& a);
std::string to_string(const Ipv6Cidr& c);

}  // namespace netd::bridge
