// IPv6 headers (RFC 8200) and the walk over their extension headers.
//
// Theory of operation: parse() checks that the buffer holds the fixed 40
// bytes (Truncated), the version is 6 (BadVersion) and the payload length
// fits the buffer (BadTotalLength); the view then covers exactly 40 +
// payload length bytes, so Ethernet padding never reaches an L4 parser.
// IPv4-mapped addresses (::ffff:0:0/96) must never appear on the wire
// (RFC 4291 2.5.5.2, RFC 6890); a packet with one as source or destination
// is Malformed, which also keeps IpAddr's family unambiguous: every address
// from an Ipv6View is an IPv6 one.
//
// It then walks the extension-header chain to the upper-layer header, at most
// kMaxExtensionHeaders steps (more is Malformed: a chain of tiny headers is a
// known way to hide the transport header and to burn CPU). Hop-by-hop,
// routing and destination options are skipped by their length byte
// ((len + 1) * 8 bytes, which must fit: Truncated otherwise); their contents
// are not interpreted (RFC 8200 lets a final destination ignore unknown
// options of type 00xxxxxx, and netd acts on none). A fragment header ends
// the walk: an atomic fragment (offset 0, no more fragments, RFC 6946) is
// walked through, any other is reported through is_fragment() and not
// reassembled. Anything else (TCP, UDP, ICMPv6, ESP, No Next Header, ...) is
// the upper layer: protocol() names it and payload() starts there.
// Byte order is converted only in the accessors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/expected.h"
#include "tap/wire/bytes.h"
#include "tap/wire/types.h"

namespace netd::wire {

constexpr size_t kIpv6HeaderLen = 40;
constexpr int kMaxExtensionHeaders = 8;

class Ipv6View {
 public:
  // Takes the Ethernet payload (possibly with trailing padding); see the
  // theory of operation for the checks and their errors.
  static Expected<Ipv6View, WireError> parse(std::span<const std::byte> b) {
    if (b.size() < kIpv6HeaderLen) return unexpected(WireError::Truncated);
    if ((load_u8(b, kVerOff) >> 4) != 6) return unexpected(WireError::BadVersion);
    size_t total = kIpv6HeaderLen + load_be16(b, kPayloadLenOff);
    if (total > b.size()) return unexpected(WireError::BadTotalLength);
    if (load_ipv6(b, kSrcOff).is_v4_mapped() || load_ipv6(b, kDstOff).is_v4_mapped())
      return unexpected(WireError::Malformed);
    Ipv6View v(b.first(total));
    // The walk: `next` is the type of the header that starts at `off`.
    uint8_t next = load_u8(b, kNextOff);
    size_t off = kIpv6HeaderLen;
    for (int steps = 0;; ++steps) {
      const auto p = static_cast<IpProto>(next);
      if (p != IpProto::HopByHop && p != IpProto::Routing && p != IpProto::DestOptions &&
          p != IpProto::Fragment)
        break;
      if (steps == kMaxExtensionHeaders) return unexpected(WireError::Malformed);
      // Hop-by-hop options may only come first (RFC 8200 4.1).
      if (p == IpProto::HopByHop && steps != 0) return unexpected(WireError::Malformed);
      if (off + 8 > total) return unexpected(WireError::Truncated);
      std::span<const std::byte> h = v.b_.subspan(off);
      if (p == IpProto::Fragment) {
        uint16_t frag = load_be16(h, 2);  // offset (13 bits, 8-byte units), 2 reserved, M
        if ((frag & 0xfff9u) != 0) {  // not atomic: stop at the fragment header
          v.fragment_ = true;
          next = static_cast<uint8_t>(IpProto::Fragment);
          break;
        }
        next = load_u8(h, 0);
        off += 8;
        continue;
      }
      size_t len = (size_t{load_u8(h, 1)} + 1) * 8;
      if (off + len > total) return unexpected(WireError::Truncated);
      next = load_u8(h, 0);
      off += len;
    }
    v.upper_ = next;
    v.upper_off_ = off;
    return v;
  }

  uint8_t traffic_class() const {
    return static_cast<uint8_t>((load_be16(b_, kVerOff) >> 4) & 0xff);
  }
  uint32_t flow_label() const { return load_be32(b_, kVerOff) & 0xfffffu; }
  uint16_t payload_length() const { return load_be16(b_, kPayloadLenOff); }
  // The Next Header field of the fixed header (the first extension header, if any).
  uint8_t next_header() const { return load_u8(b_, kNextOff); }
  uint8_t hop_limit() const { return load_u8(b_, kHopLimitOff); }
  Ipv6Addr src() const { return load_ipv6(b_, kSrcOff); }
  Ipv6Addr dst() const { return load_ipv6(b_, kDstOff); }

  // The upper-layer protocol after the extension headers (Fragment when the
  // packet is a non-atomic fragment).
  IpProto protocol() const { return static_cast<IpProto>(upper_); }
  bool is_fragment() const { return fragment_; }
  // Fixed header plus every extension header walked.
  size_t header_length() const { return upper_off_; }
  std::span<const std::byte> header() const { return b_.first(upper_off_); }
  // Header + payload, exactly 40 + payload_length bytes.
  std::span<const std::byte> packet() const { return b_; }
  // The upper-layer bytes (what the pseudo-header's length counts).
  std::span<const std::byte> payload() const { return b_.subspan(upper_off_); }

 private:
  static constexpr size_t kVerOff = 0;
  static constexpr size_t kPayloadLenOff = 4;
  static constexpr size_t kNextOff = 6;
  static constexpr size_t kHopLimitOff = 7;
  static constexpr size_t kSrcOff = 8;
  static constexpr size_t kDstOff = 24;

  explicit Ipv6View(std::span<const std::byte> b) : b_(b) {}
  std::span<const std::byte> b_;  // exactly 40 + payload_length bytes
  size_t upper_off_ = kIpv6HeaderLen;
  uint8_t upper_ = 0;
  bool fragment_ = false;
};

}  // namespace netd::wire
