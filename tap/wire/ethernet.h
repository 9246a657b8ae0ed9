// Ethernet II frames as they arrive from / go to the TAP device.
//
// Theory of operation: a frame is 6 bytes destination, 6 bytes source, a
// 2-byte ethertype and the payload. TAP frames carry no preamble or FCS.
// VLAN-tagged frames (802.1Q, 802.1ad, old QinQ 0x9100) are rejected as
// Unsupported: a container's TAP link is untagged and nothing in netd routes
// by VLAN. Frames whose type field is a length (<= 1500, 802.3/LLC) are
// accepted and simply carry a "type" no engine handles.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/expected.h"
#include "tap/wire/bytes.h"
#include "tap/wire/types.h"

namespace netd::wire {

constexpr size_t kEthernetHeaderLen = 14;

class EthernetView {
 public:
  // Takes a whole frame; fails with Truncated below 14 bytes and Unsupported
  // for VLAN-tagged frames.
  static Expected<EthernetView, WireError> parse(std::span<const std::byte> frame) {
    if (frame.size() < kEthernetHeaderLen) return unexpected(WireError::Truncated);
    uint16_t type = load_be16(frame, kTypeOff);
    if (type == 0x8100 || type == 0x88a8 || type == 0x9100) {
      return unexpected(WireError::Unsupported);
    }
    return EthernetView(frame);
  }

  MacAddr dst() const { return load_mac(b_, kDstOff); }
  MacAddr src() const { return load_mac(b_, kSrcOff); }
  // The raw type field; compare with EtherType (`ethertype() == EtherType::Ipv4`).
  uint16_t ethertype() const { return load_be16(b_, kTypeOff); }
  std::span<const std::byte> payload() const { return b_.subspan(kEthernetHeaderLen); }
  std::span<const std::byte> frame() const { return b_; }

 private:
  static constexpr size_t kDstOff = 0;
  static constexpr size_t kSrcOff = 6;
  static constexpr size_t kTypeOff = 12;

  explicit EthernetView(std::span<const std::byte> b) : b_(b) {}
  std::span<const std::byte> b_;
};

}  // namespace netd::wire
