// IpAddr: an IPv4 or IPv6 address as 4 or 16 bytes in network order, with
// text and reverse-name (in-addr.arpa / ip6.arpa) conversions. Zones are not
// part of an IpAddr (container and gateway addresses never carry one).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace netd::dns {

struct IpAddr {
  bool v6 = false;
  std::array<uint8_t, 16> b{};   // v4 uses b[0..3], the rest stays zero

  static std::optional<IpAddr> parse(std::string_view text);
  static IpAddr v4_from(const std::array<uint8_t, 4>& a);
  std::array<uint8_t, 4> v4_bytes() const { return {b[0], b[1], b[2], b[3]}; }
  std::string to_string() const;
  // "4.3.2.1.in-addr.arpa" / "b.a.9.8....ip6.arpa" (no trailing dot).
  std::string reverse_name() const;
  // The inverse of reverse_name, for lowercase text without the trailing dot.
  static std::optional<IpAddr> from_reverse_name(std::string_view lower_name);
  // IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes plain IPv4; others unchanged.
  IpAddr unmapped() const;

  bool operator==(const IpAddr&) const = default;
};

struct IpAddrHash {
  size_t operator()(const IpAddr& a) const {
    uint64_t h = a.v6 ? 0x9e3779b97f4a7c15ull : 0;
    for (uint8_t x : a.b) h = (h ^ x) * 0x100000001b3ull;
    return static_cast<size_t>(h);
  }
};

}  // namespace netd::dns
