// ICMPv4 messages (RFC 792).
//
// Theory of operation: every ICMP message starts with type(1) code(1)
// checksum(2) and a 4-byte "rest of header" whose meaning depends on the
// type (identifier + sequence for echo, next-hop MTU for "fragmentation
// needed", unused otherwise). The checksum covers the whole message with no
// pseudo-header, so parse() verifies it over exactly the span it is given,
// which must be the IPv4 payload (already bounded by total length).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/expected.h"
#include "tap/wire/bytes.h"
#include "tap/wire/checksum.h"
#include "tap/wire/types.h"

namespace netd::wire {

constexpr size_t kIcmpHeaderLen = 8;

// Types.
constexpr uint8_t kIcmpEchoReply = 0;
constexpr uint8_t kIcmpDestUnreachable = 3;
constexpr uint8_t kIcmpEchoRequest = 8;
constexpr uint8_t kIcmpTimeExceeded = 11;
// Destination-unreachable codes.
constexpr uint8_t kIcmpNetUnreachable = 0;
constexpr uint8_t kIcmpHostUnreachable = 1;
constexpr uint8_t kIcmpPortUnreachable = 3;
constexpr uint8_t kIcmpFragNeeded = 4;

class IcmpView {
 public:
  // Takes the whole ICMP message. Truncated below 8 bytes; BadChecksum if
  // the checksum over the message does not verify.
  static Expected<IcmpView, WireError> parse(std::span<const std::byte> msg) {
    if (msg.size() < kIcmpHeaderLen) return unexpected(WireError::Truncated);
    if (internet_checksum(msg) != 0) return unexpected(WireError::BadChecksum);
    return IcmpView(msg);
  }

  uint8_t type() const { return load_u8(b_, 0); }
  uint8_t code() const { return load_u8(b_, 1); }
  uint16_t checksum() const { return load_be16(b_, 2); }
  uint32_t rest_of_header() const { return load_be32(b_, 4); }
  // Echo request/reply fields (meaningless for other types).
  uint16_t echo_id() const { return load_be16(b_, 4); }
  uint16_t echo_seq() const { return load_be16(b_, 6); }
  // Next-hop MTU of a "fragmentation needed" error (RFC 1191).
  uint16_t next_hop_mtu() const { return load_be16(b_, 6); }
  // After the 8-byte header: echo data, or the quoted datagram of an error.
  std::span<const std::byte> payload() const { return b_.subspan(kIcmpHeaderLen); }
  std::span<const std::byte> message() const { return b_; }

 private:
  explicit IcmpView(std::span<const std::byte> b) : b_(b) {}
  std::span<const std::byte> b_;
};

}  // namespace netd::wire
