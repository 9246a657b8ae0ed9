// Wire quantities with types: addresses, protocol numbers, sequence numbers
// and the one error enum of tap/wire.
//
// Theory of operation: values here are always in host order (Ipv4Addr::v is
// 0x0a000202 for 10.0.2.2; an Ipv6Addr is its 16 bytes as written); conversion to and from network order happens only
// in view accessors and emitters (bytes.h). Sequence numbers wrap, so they are
// a class whose comparisons are by signed 32-bit difference (RFC 1982 serial
// arithmetic, as TCP uses in RFC 9293 3.4), never by raw value.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace netd::wire {

struct MacAddr {
  std::array<uint8_t, 6> b{};

  bool operator==(const MacAddr&) const = default;

  static constexpr MacAddr broadcast() { return MacAddr{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }
  // Accepts exactly "xx:xx:xx:xx:xx:xx" (hex, either case); nullopt otherwise.
  static std::optional<MacAddr> parse(std::string_view s);
  // Lower-case "aa:bb:cc:dd:ee:ff".
  std::string to_string() const;

  constexpr bool is_broadcast() const { return *this == broadcast(); }
  // The I/G bit (least significant bit of the first octet); broadcast is multicast too.
  constexpr bool is_multicast() const { return (b[0] & 0x01) != 0; }
};

// Reads/writes a MAC address at `off` (6 bytes; bounds are the caller's contract).
MacAddr load_mac(std::span<const std::byte> bytes, size_t off);
void store_mac(std::span<std::byte> bytes, size_t off, const MacAddr& m);

struct Ipv4Addr {
  uint32_t v = 0;  // host order

  bool operator==(const Ipv4Addr&) const = default;
  auto operator<=>(const Ipv4Addr&) const = default;

  static constexpr Ipv4Addr from_octets(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return Ipv4Addr{(uint32_t{a} << 24) | (uint32_t{b} << 16) | (uint32_t{c} << 8) | uint32_t{d}};
  }
  // Strict dotted quad: four decimal octets 0..255, no leading zeros (which
  // inet_aton would read as octal), nothing else. nullopt otherwise.
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

  // "a.b.c.d/n" with n in 0..32; nullopt otherwise.
  static std::optional<Ipv4Cidr> parse(std::string_view s);
  std::string to_string() const;

  constexpr Ipv4Addr netmask() const {
    // A shift by 32 is undefined, so /0 is special-cased.
    return Ipv4Addr{prefix == 0 ? 0u : (0xffffffffu << (32 - (prefix > 32 ? 32 : prefix)))};
  }
  constexpr Ipv4Addr network() const { return Ipv4Addr{addr.v & netmask().v}; }
  constexpr Ipv4Addr broadcast() const { return Ipv4Addr{network().v | ~netmask().v}; }
  constexpr bool contains(Ipv4Addr a) const { return (a.v & netmask().v) == network().v; }
  // The n-th address of the subnet (network + n), e.g. host(2) of 10.0.2.0/24 is 10.0.2.2.
  constexpr Ipv4Addr host(uint32_t n) const { return Ipv4Addr{network().v + n}; }
};

// An IPv6 address, 16 bytes in network order (the order the address is
// written in, so there is nothing to convert).
struct Ipv6Addr {
  std::array<uint8_t, 16> b{};

  bool operator==(const Ipv6Addr&) const = default;
  auto operator<=>(const Ipv6Addr&) const = default;

  // RFC 4291 text forms ("fd00::2", "::ffff:1.2.3.4"); no zone index, no
  // brackets. nullopt otherwise.
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
  // The Ethernet multicast address for this (multicast) address: 33:33 and
  // the low 32 bits (RFC 2464 7).
  constexpr MacAddr multicast_mac() const { return MacAddr{{0x33, 0x33, b[12], b[13], b[14], b[15]}}; }
};

// An IPv6 prefix: "fd00::/64". Like Ipv4Cidr, `addr` is kept as given.
struct Ipv6Cidr {
  Ipv6Addr addr;
  uint8_t prefix = 0;  // 0..128

  bool operator==(const Ipv6Cidr&) const = default;

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
  // network + n (n fits the low 32 bits, as the gateway and DNS offsets do).
  constexpr Ipv6Addr host(uint32_t n) const {
    Ipv6Addr h = network();
    for (int i = 15; i >= 12; --i) {
      uint32_t sum = h.b[i] + (n & 0xff);
      h.b[i] = static_cast<uint8_t>(sum);
      n = (n >> 8) + (sum >> 8);
    }
    return h;
  }
};

enum class IpFamily : uint8_t { V4, V6 };

// An address of either family, for the code that handles both the same way
// (flow keys, socket requests, address policy). IPv4 is held as the
// v4-mapped IPv6 address (::ffff:a.b.c.d), so every IpAddr is 16 bytes and
// compares and hashes uniformly; v4() and v6() give the typed address back.
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
  std::string to_string() const { return is_v4() ? v4().to_string() : v6().to_string(); }

  constexpr bool is_unspecified() const { return is_v4() ? v4().is_unspecified() : v6().is_unspecified(); }
  constexpr bool is_loopback() const { return is_v4() ? v4().is_loopback() : v6().is_loopback(); }
  constexpr bool is_multicast() const { return is_v4() ? v4().is_multicast() : v6().is_multicast(); }
};

// Reads/writes an IPv6 address at `off` (16 bytes; bounds are the caller's contract).
Ipv6Addr load_ipv6(std::span<const std::byte> bytes, size_t off);
void store_ipv6(std::span<std::byte> bytes, size_t off, const Ipv6Addr& a);

enum class EtherType : uint16_t { Ipv4 = 0x0800, Arp = 0x0806, Ipv6 = 0x86DD };

// Lets a raw ethertype field be compared with the enum: `eth.ethertype() == EtherType::Arp`.
constexpr bool operator==(EtherType a, uint16_t raw) { return static_cast<uint16_t>(a) == raw; }

enum class IpProto : uint8_t {
  HopByHop = 0,  // IPv6 extension headers walked by Ipv6View
  Icmp = 1,
  Tcp = 6,
  Udp = 17,
  Routing = 43,
  Fragment = 44,
  Icmpv6 = 58,
  NoNext = 59,
  DestOptions = 60,
};

enum class WireError {
  Truncated,        // the buffer ends before something the format requires
  BadVersion,       // IP version field is not the one this view parses
  BadHeaderLength,  // IHL < 5, TCP data offset < 5 or beyond the segment
  BadTotalLength,   // IPv4 total length < header length or > buffer
  BadChecksum,      // a checksum the view verifies does not verify
  BadLength,        // an L4 length field is inconsistent (UDP length)
  Unsupported,      // well-formed but not something netd handles (802.1Q, non-Ethernet ARP)
  Malformed,        // anything else that makes the bytes meaningless (bad magic cookie)
};

const char* to_string(WireError e);

// A TCP sequence number: 32 bits that wrap. a < b means "b is ahead of a by
// less than 2^31", so ordering stays correct across the wrap.
class SeqNum {
 public:
  constexpr SeqNum() = default;
  constexpr explicit SeqNum(uint32_t v) : v_(v) {}

  constexpr uint32_t value() const { return v_; }

  constexpr SeqNum operator+(uint32_t n) const { return SeqNum(v_ + n); }
  constexpr SeqNum operator-(uint32_t n) const { return SeqNum(v_ - n); }
  constexpr SeqNum& operator+=(uint32_t n) {
    v_ += n;
    return *this;
  }
  // Signed distance from `o` to *this: positive if *this is ahead of `o`.
  // (C++20 defines the unsigned -> signed conversion as modular.)
  constexpr int32_t operator-(SeqNum o) const { return static_cast<int32_t>(v_ - o.v_); }

  constexpr bool operator==(const SeqNum&) const = default;
  constexpr bool operator<(SeqNum o) const { return (*this - o) < 0; }
  constexpr bool operator<=(SeqNum o) const { return (*this - o) <= 0; }
  constexpr bool operator>(SeqNum o) const { return (*this - o) > 0; }
  constexpr bool operator>=(SeqNum o) const { return (*this - o) >= 0; }

 private:
  uint32_t v_ = 0;
};

}  // namespace netd::wire
