// Wire quantities with types: addresses, protocol numbers, sequence numbers
// and the one error enum of tap/wire.
//
// Theory of operation: values here are always in host order (Ipv4Addr::v is
// 0x0a000202 for 10.0.2.2); conversion to and from network order happens only
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

enum class EtherType : uint16_t { Ipv4 = 0x0800, Arp = 0x0806, Ipv6 = 0x86DD };

// Lets a raw ethertype field be compared with the enum: `eth.ethertype() == EtherType::Arp`.
constexpr bool operator==(EtherType a, uint16_t raw) { return static_cast<uint16_t>(a) == raw; }

enum class IpProto : uint8_t { Icmp = 1, Tcp = 6, Udp = 17, Icmpv6 = 58 };

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
