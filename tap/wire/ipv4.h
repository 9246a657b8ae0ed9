// IPv4 headers (RFC 791).
//
// Theory of operation: parse() checks, in this order, that the buffer holds
// the fixed 20 bytes (Truncated), the version is 4 (BadVersion), IHL >= 5
// (BadHeaderLength), the whole header incl. options is in the buffer
// (Truncated), header length <= total length <= buffer size
// (BadTotalLength), and that the header checksum verifies (BadChecksum).
// The view then covers exactly total_length bytes: Ethernet pads short frames
// to 60 bytes and that padding must never reach an L4 parser, so payload() and
// packet() stop at total_length. Options are kept (header()) but not
// interpreted. Fragments are reported, not reassembled.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/expected.h"
#include "tap/wire/bytes.h"
#include "tap/wire/checksum.h"
#include "tap/wire/types.h"

namespace netd::wire {

constexpr size_t kIpv4MinHeaderLen = 20;

class Ipv4View {
 public:
  // Takes the Ethernet payload (possibly with trailing padding); see the
  // theory of operation for the checks and their errors.
  static Expected<Ipv4View, WireError> parse(std::span<const std::byte> b) {
    if (b.size() < kIpv4MinHeaderLen) return unexpected(WireError::Truncated);
    uint8_t vihl = load_u8(b, kVerIhlOff);
    if ((vihl >> 4) != 4) return unexpected(WireError::BadVersion);
    size_t hl = size_t{vihl & 0x0fu} * 4;
    if (hl < kIpv4MinHeaderLen) return unexpected(WireError::BadHeaderLength);
    if (hl > b.size()) return unexpected(WireError::Truncated);
    size_t total = load_be16(b, kTotalLenOff);
    if (total < hl || total > b.size()) return unexpected(WireError::BadTotalLength);
    if (internet_checksum(b.first(hl)) != 0) return unexpected(WireError::BadChecksum);
    return Ipv4View(b.first(total));
  }

  uint8_t tos() const { return load_u8(b_, kTosOff); }
  size_t header_length() const { return size_t{load_u8(b_, kVerIhlOff) & 0x0fu} * 4; }
  uint16_t total_length() const { return load_be16(b_, kTotalLenOff); }
  uint16_t id() const { return load_be16(b_, kIdOff); }
  bool dont_fragment() const { return (load_be16(b_, kFragOff) & 0x4000) != 0; }
  bool more_fragments() const { return (load_be16(b_, kFragOff) & 0x2000) != 0; }
  // The fragment offset in bytes (the field counts 8-byte units).
  uint32_t fragment_offset() const { return uint32_t{load_be16(b_, kFragOff) & 0x1fffu} * 8; }
  bool is_fragment() const { return more_fragments() || fragment_offset() != 0; }
  uint8_t ttl() const { return load_u8(b_, kTtlOff); }
  IpProto protocol() const { return static_cast<IpProto>(load_u8(b_, kProtoOff)); }
  uint16_t header_checksum() const { return load_be16(b_, kChecksumOff); }
  Ipv4Addr src() const { return Ipv4Addr{load_be32(b_, kSrcOff)}; }
  Ipv4Addr dst() const { return Ipv4Addr{load_be32(b_, kDstOff)}; }

  // The header including options.
  std::span<const std::byte> header() const { return b_.first(header_length()); }
  // Header + payload, exactly total_length bytes.
  std::span<const std::byte> packet() const { return b_; }
  // The L4 bytes, bounded by total_length (Ethernet padding excluded).
  std::span<const std::byte> payload() const { return b_.subspan(header_length()); }

 private:
  static constexpr size_t kVerIhlOff = 0;
  static constexpr size_t kTosOff = 1;
  static constexpr size_t kTotalLenOff = 2;
  static constexpr size_t kIdOff = 4;
  static constexpr size_t kFragOff = 6;
  static constexpr size_t kTtlOff = 8;
  static constexpr size_t kProtoOff = 9;
  static constexpr size_t kChecksumOff = 10;
  static constexpr size_t kSrcOff = 12;
  static constexpr size_t kDstOff = 16;

  explicit Ipv4View(std::span<const std::byte> b) : b_(b) {}
  std::span<const std::byte> b_;  // exactly total_length bytes
};

}  // namespace netd::wire
