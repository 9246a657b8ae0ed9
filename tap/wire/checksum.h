// The internet checksum (RFC 1071) and the IPv4 and IPv6 pseudo-headers
// (RFC 768, RFC 9293, RFC 8200 8.1).
//
// Theory of operation: the checksum is the one's complement of the one's
// complement sum of 16-bit big-endian words. The sum is associative and
// commutative, so Checksum accumulates in a 64-bit integer and folds once in
// finish(); 32-bit words may be added whole because 2^16 == 1 (mod 0xffff).
// Data may arrive in pieces of any length: an odd-length piece leaves its
// last byte as the high half of a pending word and the next piece continues
// from there, so add(a); add(b) == add(a ++ b).
//
// Verifying: feed the whole message including its checksum field; a correct
// message makes finish() return 0. Emitting: feed the message with the field
// zeroed and store finish() big-endian in the field.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "tap/wire/types.h"

namespace netd::wire {

class Checksum {
 public:
  // Adds bytes at the current position (continuing an odd-length previous piece).
  void add(std::span<const std::byte> data);
  // Adds one 16-bit / 32-bit word (host-order value, summed as if written
  // big-endian). Words are position-independent in the sum, so these may be
  // mixed with add() at any point; they do not change the odd/even position.
  void add16(uint16_t v) { sum_ += v; }
  void add32(uint32_t v) { sum_ += (v >> 16) + (v & 0xffff); }
  // The checksum value to store in a header (or 0 when verifying a correct message).
  uint16_t finish() const;

 private:
  uint64_t sum_ = 0;
  bool odd_ = false;  // true: the last byte added was the high half of a word
};

// The one's complement sum of an IPv4 pseudo-header (src, dst, zero,
// protocol, L4 length), unfolded; usable as `Checksum::add32` input.
uint32_t ipv4_pseudo_header_sum(Ipv4Addr src, Ipv4Addr dst, IpProto p, uint16_t l4_len);

// A Checksum already fed with the IPv4 pseudo-header: pass it by value to
// UdpView::parse / TcpView::parse, which add the segment and verify.
// `l4_len` is the length of the UDP/TCP segment (header + data).
Checksum ipv4_pseudo_header(Ipv4Addr src, Ipv4Addr dst, IpProto p, uint16_t l4_len);

// The IPv6 pseudo-header: src, dst, upper-layer length (32 bits), three zero
// bytes and the next-header value. ICMPv6 uses it too (unlike ICMPv4).
Checksum ipv6_pseudo_header(const Ipv6Addr& src, const Ipv6Addr& dst, IpProto p, uint32_t l4_len);

// The pseudo-header of whichever family `src` and `dst` are (both the same).
Checksum ip_pseudo_header(const IpAddr& src, const IpAddr& dst, IpProto p, uint32_t l4_len);

// The checksum of one buffer: 0 if `data` contains a correct checksum field.
uint16_t internet_checksum(std::span<const std::byte> data);

}  // namespace netd::wire
