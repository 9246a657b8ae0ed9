// ICMPv4 (RFC 792) and ICMPv6 (RFC 4443) messages.
//
// Theory of operation: every ICMP message of either family starts with
// type(1) code(1) checksum(2) and a 4-byte "rest of header" whose meaning
// depends on the type (identifier + sequence for echo, next-hop MTU for
// "fragmentation needed", unused otherwise). The ICMPv4 checksum covers the
// message alone; the ICMPv6 one also covers the IPv6 pseudo-header, so
// parse() takes a Checksum already seeded with it (empty for ICMPv4) and
// verifies over exactly the span it is given, which must be the IP payload
// (already bounded by the packet length). The type numbers differ between
// the families; IcmpDialect names the ones the engines use, per family, so
// one engine serves both.
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

// ICMPv6 types (RFC 4443, RFC 4861).
constexpr uint8_t kIcmpv6DestUnreachable = 1;
constexpr uint8_t kIcmpv6PacketTooBig = 2;
constexpr uint8_t kIcmpv6TimeExceeded = 3;
constexpr uint8_t kIcmpv6EchoRequest = 128;
constexpr uint8_t kIcmpv6EchoReply = 129;
constexpr uint8_t kNdpRouterSolicitation = 133;
constexpr uint8_t kNdpRouterAdvertisement = 134;
constexpr uint8_t kNdpNeighborSolicitation = 135;
constexpr uint8_t kNdpNeighborAdvertisement = 136;
constexpr uint8_t kNdpRedirect = 137;
// ICMPv6 destination-unreachable codes.
constexpr uint8_t kIcmpv6NoRoute = 0;
constexpr uint8_t kIcmpv6AddressUnreachable = 3;
constexpr uint8_t kIcmpv6PortUnreachable = 4;

// The numbers one engine needs to speak ICMP in either family.
struct IcmpDialect {
  IpProto proto;
  uint8_t echo_request, echo_reply, dest_unreachable;
  uint8_t net_unreachable, host_unreachable, port_unreachable;  // dest-unreachable codes
  uint8_t admin_prohibited;  // dest-unreachable code: refused by policy (netd's limits)
};
constexpr IcmpDialect kIcmpV4{IpProto::Icmp,        kIcmpEchoRequest,       kIcmpEchoReply,
                              kIcmpDestUnreachable, kIcmpNetUnreachable,    kIcmpHostUnreachable,
                              kIcmpPortUnreachable, 13 /* communication administratively prohibited */};
constexpr IcmpDialect kIcmpV6{IpProto::Icmpv6,        kIcmpv6EchoRequest,        kIcmpv6EchoReply,
                              kIcmpv6DestUnreachable, kIcmpv6NoRoute,            kIcmpv6AddressUnreachable,
                              kIcmpv6PortUnreachable, 1 /* administratively prohibited */};
constexpr const IcmpDialect& icmp_dialect(IpFamily f) { return f == IpFamily::V4 ? kIcmpV4 : kIcmpV6; }

class IcmpView {
 public:
  // Takes the whole ICMPv4 message. Truncated below 8 bytes; BadChecksum if
  // the checksum over the message does not verify.
  static Expected<IcmpView, WireError> parse(std::span<const std::byte> msg) { return parse(msg, Checksum{}); }
  // The same for ICMPv6: `pseudo` is seeded with the IPv6 pseudo-header
  // (IpView::pseudo_header(IpProto::Icmpv6)) and consumed.
  static Expected<IcmpView, WireError> parse(std::span<const std::byte> msg, Checksum pseudo) {
    if (msg.size() < kIcmpHeaderLen) return unexpected(WireError::Truncated);
    pseudo.add(msg);
    if (pseudo.finish() != 0) return unexpected(WireError::BadChecksum);
    return IcmpView(msg);
  }
  // Only the size check: for messages a ping socket returns, whose checksum
  // the host kernel has verified already (and, for ICMPv6, over a
  // pseudo-header netd does not see).
  static Expected<IcmpView, WireError> parse_unverified(std::span<const std::byte> msg) {
    if (msg.size() < kIcmpHeaderLen) return unexpected(WireError::Truncated);
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
