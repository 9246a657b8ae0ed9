// TCP segments (RFC 9293) over IPv4 and IPv6, and the options netd cares about.
//
// Theory of operation: the fixed header is 20 bytes; the data offset (in
// 32-bit words, >= 5) says where options end and data begins. parse() takes
// the IP payload (bounded by the packet length) and a Checksum seeded with
// the pseudo-header (IpView::pseudo_header(IpProto::Tcp)), checks sizes (Truncated below 20 bytes, BadHeaderLength for an offset < 5
// or beyond the segment) and verifies the checksum over the whole segment
// (BadChecksum).
//
// Options are decoded on demand by options(), a bounded walker: EOL ends the
// list, NOP is skipped, every other option has a length byte >= 2 that must
// fit in the option area. The first malformed option stops the walk and what
// was parsed before it is returned; the walker never reads outside the header.
// Options with an unexpected length for their kind (e.g. MSS with length 3)
// are skipped, not trusted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>

#include "common/expected.h"
#include "tap/wire/bytes.h"
#include "tap/wire/checksum.h"
#include "tap/wire/types.h"

namespace netd::wire {

constexpr size_t kTcpMinHeaderLen = 20;
constexpr size_t kTcpMaxHeaderLen = 60;

constexpr uint8_t kTcpFin = 0x01;
constexpr uint8_t kTcpSyn = 0x02;
constexpr uint8_t kTcpRst = 0x04;
constexpr uint8_t kTcpPsh = 0x08;
constexpr uint8_t kTcpAck = 0x10;
constexpr uint8_t kTcpUrg = 0x20;

// Option kinds.
constexpr uint8_t kTcpOptEol = 0;
constexpr uint8_t kTcpOptNop = 1;
constexpr uint8_t kTcpOptMss = 2;
constexpr uint8_t kTcpOptWindowScale = 3;
constexpr uint8_t kTcpOptSackPermitted = 4;
constexpr uint8_t kTcpOptTimestamps = 8;

struct TcpOptions {
  std::optional<uint16_t> mss;
  std::optional<uint8_t> window_scale;
  bool sack_permitted = false;
  std::optional<std::pair<uint32_t, uint32_t>> timestamps;  // (TSval, TSecr)
};

// Walks an option area (the header bytes after the fixed 20). Exposed for
// tests and the fuzzer; TcpView::options() is the normal entry.
TcpOptions parse_tcp_options(std::span<const std::byte> area);

class TcpView {
 public:
  // See the theory of operation. `pseudo` is taken by value and consumed.
  static Expected<TcpView, WireError> parse(std::span<const std::byte> segment, Checksum pseudo) {
    return parse_impl(segment, &pseudo);
  }
  // The same checks except the checksum, for segments whose checksum the
  // kernel has vouched for (a tap with virtio-net offloads marks them
  // NEEDS_CSUM or DATA_VALID; the field then holds no final checksum).
  static Expected<TcpView, WireError> parse_checksum_offloaded(std::span<const std::byte> segment) {
    return parse_impl(segment, nullptr);
  }

  uint16_t src_port() const { return load_be16(b_, kSrcPortOff); }
  uint16_t dst_port() const { return load_be16(b_, kDstPortOff); }
  SeqNum seq() const { return SeqNum(load_be32(b_, kSeqOff)); }
  SeqNum ack() const { return SeqNum(load_be32(b_, kAckOff)); }
  size_t header_length() const { return (size_t{load_u8(b_, kDataOffOff)} >> 4) * 4; }
  // The flag byte (CWR ECE URG ACK PSH RST SYN FIN); test with kTcp* masks.
  uint8_t flags() const { return load_u8(b_, kFlagsOff); }
  bool fin() const { return (flags() & kTcpFin) != 0; }
  bool syn() const { return (flags() & kTcpSyn) != 0; }
  bool rst() const { return (flags() & kTcpRst) != 0; }
  bool psh() const { return (flags() & kTcpPsh) != 0; }
  bool ack_flag() const { return (flags() & kTcpAck) != 0; }
  bool urg() const { return (flags() & kTcpUrg) != 0; }
  // The raw, unscaled window field.
  uint16_t window() const { return load_be16(b_, kWindowOff); }
  uint16_t checksum() const { return load_be16(b_, kChecksumOff); }
  uint16_t urgent() const { return load_be16(b_, kUrgentOff); }

  std::span<const std::byte> header() const { return b_.first(header_length()); }
  std::span<const std::byte> option_bytes() const {
    return b_.subspan(kTcpMinHeaderLen, header_length() - kTcpMinHeaderLen);
  }
  std::span<const std::byte> payload() const { return b_.subspan(header_length()); }
  std::span<const std::byte> segment() const { return b_; }
  TcpOptions options() const { return parse_tcp_options(option_bytes()); }

 private:
  static Expected<TcpView, WireError> parse_impl(std::span<const std::byte> segment, Checksum* pseudo) {
    if (segment.size() < kTcpMinHeaderLen) return unexpected(WireError::Truncated);
    size_t hl = (size_t{load_u8(segment, kDataOffOff)} >> 4) * 4;
    if (hl < kTcpMinHeaderLen || hl > segment.size()) {
      return unexpected(WireError::BadHeaderLength);
    }
    if (pseudo) {
      pseudo->add(segment);
      if (pseudo->finish() != 0) return unexpected(WireError::BadChecksum);
    }
    return TcpView(segment);
  }
  static constexpr size_t kSrcPortOff = 0;
  static constexpr size_t kDstPortOff = 2;
  static constexpr size_t kSeqOff = 4;
  static constexpr size_t kAckOff = 8;
  static constexpr size_t kDataOffOff = 12;
  static constexpr size_t kFlagsOff = 13;
  static constexpr size_t kWindowOff = 14;
  static constexpr size_t kChecksumOff = 16;
  static constexpr size_t kUrgentOff = 18;

  explicit TcpView(std::span<const std::byte> b) : b_(b) {}
  std::span<const std::byte> b_;
};

}  // namespace netd::wire
