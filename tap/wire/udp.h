// UDP datagrams (RFC 768) over IPv4 and IPv6.
//
// Theory of operation: the header is sport(2) dport(2) length(2) checksum(2).
// parse() takes the IPv4 payload and a Checksum already seeded with the
// pseudo-header (IpView::pseudo_header(IpProto::Udp)).
// The length field must be >= 8 and fit in the segment (BadLength otherwise);
// the view and the checksum cover exactly `length` bytes. A checksum field of
// 0 means "not computed" over IPv4 and is accepted; over IPv6 the checksum is
// mandatory (RFC 8200 8.1), so the caller passes zero_means_none = false and
// a 0 is BadChecksum. Anything else must verify (BadChecksum). A computed checksum of 0 is sent as 0xffff, which verifies
// the same way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/expected.h"
#include "tap/wire/bytes.h"
#include "tap/wire/checksum.h"
#include "tap/wire/types.h"

namespace netd::wire {

constexpr size_t kUdpHeaderLen = 8;

class UdpView {
 public:
  // See the theory of operation. `pseudo` is taken by value and consumed.
  static Expected<UdpView, WireError> parse(std::span<const std::byte> segment, Checksum pseudo,
                                            bool zero_means_none = true) {
    return parse_impl(segment, &pseudo, zero_means_none);
  }
  // The same checks except the checksum (see TcpView::parse_checksum_offloaded).
  static Expected<UdpView, WireError> parse_checksum_offloaded(std::span<const std::byte> segment) {
    return parse_impl(segment, nullptr, true);
  }

  uint16_t src_port() const { return load_be16(b_, kSrcPortOff); }
  uint16_t dst_port() const { return load_be16(b_, kDstPortOff); }
  uint16_t length() const { return load_be16(b_, kLengthOff); }
  uint16_t checksum() const { return load_be16(b_, kChecksumOff); }
  // The data, bounded by the length field.
  std::span<const std::byte> payload() const { return b_.subspan(kUdpHeaderLen); }
  std::span<const std::byte> datagram() const { return b_; }

 private:
  static Expected<UdpView, WireError> parse_impl(std::span<const std::byte> segment, Checksum* pseudo,
                                                 bool zero_means_none) {
    if (segment.size() < kUdpHeaderLen) return unexpected(WireError::Truncated);
    size_t len = load_be16(segment, kLengthOff);
    if (len < kUdpHeaderLen || len > segment.size()) return unexpected(WireError::BadLength);
    std::span<const std::byte> d = segment.first(len);
    if (pseudo && load_be16(d, kChecksumOff) == 0 && !zero_means_none) return unexpected(WireError::BadChecksum);
    if (pseudo && load_be16(d, kChecksumOff) != 0) {
      pseudo->add(d);
      if (pseudo->finish() != 0) return unexpected(WireError::BadChecksum);
    }
    return UdpView(d);
  }
  static constexpr size_t kSrcPortOff = 0;
  static constexpr size_t kDstPortOff = 2;
  static constexpr size_t kLengthOff = 4;
  static constexpr size_t kChecksumOff = 6;

  explicit UdpView(std::span<const std::byte> b) : b_(b) {}
  std::span<const std::byte> b_;  // exactly length() bytes
};

}  // namespace netd::wire
