// Wire quantities with types: MAC addresses, protocol numbers, sequence
// numbers and the one error enum of tap/wire; IP addresses are common/net's,
// re-exported here.
//
// Theory of operation: values here are always in host order (Ipv4Addr::v is
// 0x0a000202 for 10.0.2.2; an Ipv6Addr is its 16 bytes as written);
// conversion to and from network order happens only in view accessors and
// emitters (bytes.h). Sequence numbers wrap, so they are
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

#include "common/net/ip.h"

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

// The address types are netd's one vocabulary (common/net/ip.h); tap/ names
// them as wire:: like every other wire quantity.
using net::IpAddr;
using net::IpFamily;
using net::Ipv4Addr;
using net::Ipv4Cidr;
using net::Ipv6Addr;
using net::Ipv6Cidr;

// The Ethernet multicast address for IPv6 multicast address `a`: 33:33 and
// the low 32 bits (RFC 2464 7).
constexpr MacAddr multicast_mac(const Ipv6Addr& a) { return MacAddr{{0x33, 0x33, a.b[12], a.b[13], a.b[14], a.b[15]}}; }

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
