// IPv4 addresses and prefixes as plain values, for IPAM and rule generation.
//
// Theory of operation: addresses are kept in host byte order inside a small
// struct so arithmetic (next host, containment) is ordinary integer math;
// conversion to and from text goes through inet_pton/inet_ntop here and
// nowhere else in bridge/. Parsing returns std::nullopt on anything that is not
// a canonical dotted quad (or quad/prefix), never throws.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace netd::bridge {

struct Ipv4 {
  uint32_t v = 0;  // host byte order
  auto operator<=>(const Ipv4&) const = default;
};

struct Ipv4Cidr {
  Ipv4 addr;       // as written (may have host bits set, e.g. a gateway/24)
  int prefix = 0;  // 0..32

  uint32_t mask() const { return prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix); }
  Ipv4 network() const { return Ipv4{addr.v & mask()}; }
  Ipv4 broadcast() const { return Ipv4{network().v | ~mask()}; }
  bool contains(Ipv4 a) const { return (a.v & mask()) == network().v; }
  // True when the two prefixes share at least one address.
  bool overlaps(const Ipv4Cidr& o) const;
  bool operator==(const Ipv4Cidr& o) const { return addr == o.addr && prefix == o.prefix; }
};

std::optional<Ipv4> parse_ipv4(std::string_view s);
// "ADDR/LEN" -> (ADDR, LEN) when LEN is a number 0..max_prefix (for v4 and v6).
std::optional<std::pair<std::string_view, int>> split_cidr(std::string_view s, int max_prefix);
// "a.b.c.d/len"; a missing "/len" is rejected.
std::optional<Ipv4Cidr> parse_cidr(std::string_view s);
std::string to_string(Ipv4 a);
std::string to_string(const Ipv4Cidr& c);  // "a.b.c.d/len" with addr as stored

}  // namespace netd::bridge
