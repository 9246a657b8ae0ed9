// IP addresses and prefixes: the one address vocabulary of netd. The data
// plane (tap/), bridge networks, the DNS server and port forwarding all hold
// addresses as these types.
//
// Theory of operation: values, never pointers to sockaddrs. An Ipv4Addr is
// its 32 bits in host order (0x0a000202 is 10.0.2.2), so prefix arithmetic is
// integer arithmetic; an Ipv6Addr is its 16 bytes in the order they are
// written, so there is nothing to convert. IpAddr holds either family as 16
// bytes, IPv4 as the v4-mapped IPv6 address (::ffff:a.b.c.d): every IpAddr
// compares and hashes the same way, and the text "::ffff:1.2.3.4" *is* the
// IPv4 address 1.2.3.4 (a socket reports IPv4 peers of a dual-stack socket
// in that form, and they must match the plain IPv4 address).
//
// Text is parsed strictly and without exceptions: a dotted quad has exactly
// four decimal octets without leading zeros (inet_aton would read "010" as
// octal 8), IPv6 follows RFC 4291 2.2 (no zone, no brackets), a prefix
// length is decimal without leading zeros. Anything else is nullopt.
// Formatting gives the canonical text (RFC 5952 for IPv6).
// Socket addresses (address + port) are in endpoint.h.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace netd::net {

struct Ipv4Addr {
  uint32_t v = 0;  // host order

  bool operator==(const Ipv4Addr&) const = default;
  auto operator<=>(const Ipv4Addr&) const = default;

  static constexpr Ipv4Addr from_octets(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return Ipv4Addr{(uint32_t{a} << 24) | (uint32_t{b} << 16) | (uint32_t{c} << 8) | uint32_t{d}};
  }
  // The address as its four bytes in network order ({10, 0, 2, 2}).
  constexpr std::array<uint8_t, 4> octets() const {
    return {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 8),
            static_cast<uint8_t>(v)};
  }
  // Strict dotted quad (see the top of this file); nullopt otherwise.
  static std::optional<Ipv4Addr> parse(std::string_view s);
  std::string to_string() const;

  constexpr bool is_loopback() const { return (v >> 24) == 127; }
  constexpr bool is_multicast() const { return (v >> 28) == 0xe; }
  constexpr bool is_broadcast() const { return v == 0xffffffffu; }
  constexpr bool is_unspecified() const { return v == 0; }
};

// An address with a prefix length. `addr` is kept as given (so "10.0.2.15/24"
// describes a host and its subnet); network() masks the host bits off.
struct Ipv4Cidr {
  Ipv4Addr addr;
  uint8_t prefix = 0;  // 0..32

  bool operator==(const Ipv4Cidr&) const = default;

  // "a.b.c.d/n" with n in 0..32; a missing "/n" is rejected; nullopt otherwise.
  static std::optional<Ipv4Cidr> parse(std::string_view s);
  // "a.b.c.d/n" with addr as stored.
  std::string to_string() const;

  constexpr Ipv4Addr netmask() const {
    // A shift by 32 is undefined, so /0 is special-cased.
    return Ipv4Addr{prefix == 0 ? 0u : (0xffffffffu << (32 - (prefix > 32 ? 32 : prefix)))};
  }
  constexpr Ipv4Addr network() const { return Ipv4Addr{addr.v & netmask().v}; }
  constexpr Ipv4Addr broadcast() const { return Ipv4Addr{network().v | ~netmask().v}; }
  constexpr bool contains(Ipv4Addr a) const { return (a.v & netmask().v) == network().v; }
  // True when the two prefixes share at least one address.
  constexpr bool overlaps(const Ipv4Cidr& o) const {
    return Ipv4Cidr{addr, prefix < o.prefix ? prefix : o.prefix}.contains(o.addr);
  }
  // The n-th address of the subnet (network + n), e.g. host(2) of 10.0.2.0/24 is 10.0.2.2.
  constexpr Ipv4Addr host(uint32_t n) const { return Ipv4Addr{network().v + n}; }
};

// An IPv6 address, 16 bytes in network order.
struct Ipv6Addr {
  std::array<uint8_t, 16> b{};

  bool operator==(const Ipv6Addr&) const = default;
  auto operator<=>(const Ipv6Addr&) const = default;

  // RFC 4291 text forms ("fd00::2", "::ffff:1.2.3.4"); nullopt otherwise.
  static std::optional<Ipv6Addr> parse(std::string_view s);
  // RFC 5952 canonical text ("fd00::2").
  std::string to_string() const;

  static constexpr Ipv6Addr loopback() {
    Ipv6Addr a;
    a.b[15] = 1;
    return a;
  }
  constexpr bool is_unspecified() const { return *this == Ipv6Addr{}; }
  constexpr bool is_loopback() const { return *this == loopback(); }
  constexpr bool is_multicast() const { return b[0] == 0xff; }
  constexpr bool is_link_local() const { return b[0] == 0xfe && (b[1] & 0xc0) == 0x80; }
  // ::ffff:a.b.c.d: an IPv4 address in IPv6 clothes (never valid on the wire).
  constexpr bool is_v4_mapped() const {
    for (int i = 0; i < 10; ++i)
      if (b[i] != 0) return false;
    return b[10] == 0xff && b[11] == 0xff;
  }
  // The solicited-node multicast group of this address (RFC 4291 2.7.1):
  // ff02::1:ffXX:XXXX with the low 24 bits of the address.
  constexpr Ipv6Addr solicited_node() const {
    Ipv6Addr m;
    m.b[0] = 0xff;
    m.b[1] = 0x02;
    m.b[11] = 0x01;
    m.b[12] = 0xff;
    m.b[13] = b[13];
    m.b[14] = b[14];
    m.b[15] = b[15];
    return m;
  }
};

// An IPv6 prefix: "fd00::/64". Like Ipv4Cidr, `addr` is kept as given.
struct Ipv6Cidr {
  Ipv6Addr addr;
  uint8_t prefix = 0;  // 0..128

  bool operator==(const Ipv6Cidr&) const = default;

  // "addr/n" with n in 0..128; a missing "/n" is rejected; nullopt otherwise.
  static std::optional<Ipv6Cidr> parse(std::string_view s);
  std::string to_string() const;

  constexpr Ipv6Addr network() const {
    Ipv6Addr n;
    for (int i = 0; i < 16; ++i) {
      int bits = static_cast<int>(prefix) - i * 8;
      uint8_t mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : static_cast<uint8_t>(0xff << (8 - bits));
      n.b[i] = addr.b[i] & mask;
    }
    return n;
  }
  constexpr bool contains(const Ipv6Addr& a) const { return Ipv6Cidr{a, prefix}.network() == network(); }
  constexpr bool overlaps(const Ipv6Cidr& o) const {
    return Ipv6Cidr{addr, prefix < o.prefix ? prefix : o.prefix}.contains(o.addr);
  }
  // network + n, the carry running through all 16 bytes.
  constexpr Ipv6Addr host(uint32_t n) const {
    Ipv6Addr h = network();
    uint64_t carry = n;
    for (int i = 15; i >= 0 && carry != 0; --i) {
      uint64_t sum = h.b[i] + (carry & 0xff);
      h.b[i] = static_cast<uint8_t>(sum);
      carry = (carry >> 8) + (sum >> 8);
    }
    return h;
  }
};

enum class IpFamily : uint8_t { V4, V6 };

// An address of either family, for the code that handles both the same way
// (flow keys, socket requests, DNS records, forward rules). See the top of
// this file for the v4-mapped representation; v4() and v6() give the typed
// address back.
struct IpAddr {
  std::array<uint8_t, 16> b{};

  constexpr IpAddr() = default;
  constexpr IpAddr(Ipv4Addr a)  // NOLINT: implicit, an Ipv4Addr is an IpAddr
      : b{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, static_cast<uint8_t>(a.v >> 24),
          static_cast<uint8_t>(a.v >> 16), static_cast<uint8_t>(a.v >> 8), static_cast<uint8_t>(a.v)} {}
  constexpr IpAddr(const Ipv6Addr& a) : b(a.b) {}  // NOLINT: implicit, likewise

  bool operator==(const IpAddr&) const = default;
  auto operator<=>(const IpAddr&) const = default;

  constexpr IpFamily family() const { return Ipv6Addr{b}.is_v4_mapped() ? IpFamily::V4 : IpFamily::V6; }
  constexpr bool is_v4() const { return family() == IpFamily::V4; }
  constexpr bool is_v6() const { return family() == IpFamily::V6; }
  // Meaningful only for the matching family.
  constexpr Ipv4Addr v4() const {
    return Ipv4Addr{(uint32_t{b[12]} << 24) | (uint32_t{b[13]} << 16) | (uint32_t{b[14]} << 8) | b[15]};
  }
  constexpr Ipv6Addr v6() const { return Ipv6Addr{b}; }

  // Either text form; nullopt otherwise.
  static std::optional<IpAddr> parse(std::string_view s);
  // Dotted quad for IPv4 (also when it was written v4-mapped), RFC 5952 for IPv6.
  std::string to_string() const { return is_v4() ? v4().to_string() : v6().to_string(); }

  constexpr bool is_unspecified() const { return is_v4() ? v4().is_unspecified() : v6().is_unspecified(); }
  constexpr bool is_loopback() const { return is_v4() ? v4().is_loopback() : v6().is_loopback(); }
  constexpr bool is_multicast() const { return is_v4() ? v4().is_multicast() : v6().is_multicast(); }
};

namespace detail {
// FNV-1a over the bytes; addresses are short and hash tables of them small.
constexpr size_t hash_bytes(const uint8_t* p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return static_cast<size_t>(h);
}
}  // namespace detail

}  // namespace netd::net

template <>
struct std::hash<netd::net::Ipv4Addr> {
  size_t operator()(const netd::net::Ipv4Addr& a) const noexcept { return std::hash<uint32_t>{}(a.v); }
};
template <>
struct std::hash<netd::net::Ipv6Addr> {
  size_t operator()(const netd::net::Ipv6Addr& a) const noexcept { return netd::net::detail::hash_bytes(a.b.data(), 16); }
};
template <>
struct std::hash<netd::net::IpAddr> {
  size_t operator()(const netd::net::IpAddr& a) const noexcept { return netd::net::detail::hash_bytes(a.b.data(), 16); }
};
