// ARP (RFC 826) for IPv4 over Ethernet, the only combination netd answers.
//
// Theory of operation: the packet is htype(2) ptype(2) hlen(1) plen(1) op(2)
// then sender MAC, sender IP, target MAC, target IP (28 bytes for
// Ethernet/IPv4). parse() insists on htype 1, ptype 0x0800, hlen 6, plen 4,
// so every accessor reads at fixed offsets; trailing Ethernet padding is
// ignored. Only requests and replies are accepted (RARP and InARP are
// Unsupported).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/expected.h"
#include "tap/wire/bytes.h"
#include "tap/wire/types.h"

namespace netd::wire {

constexpr uint16_t kArpRequest = 1;
constexpr uint16_t kArpReply = 2;
constexpr size_t kArpLen = 28;

class ArpView {
 public:
  // Takes the Ethernet payload. Truncated below 28 bytes; Unsupported for any
  // other hardware/protocol combination or an op other than request/reply.
  static Expected<ArpView, WireError> parse(std::span<const std::byte> b) {
    if (b.size() < kArpLen) return unexpected(WireError::Truncated);
    if (load_be16(b, kHtypeOff) != 1 || load_be16(b, kPtypeOff) != 0x0800 ||
        load_u8(b, kHlenOff) != 6 || load_u8(b, kPlenOff) != 4) {
      return unexpected(WireError::Unsupported);
    }
    uint16_t op = load_be16(b, kOpOff);
    if (op != kArpRequest && op != kArpReply) return unexpected(WireError::Unsupported);
    return ArpView(b.first(kArpLen));
  }

  uint16_t op() const { return load_be16(b_, kOpOff); }
  MacAddr sender_mac() const { return load_mac(b_, kShaOff); }
  Ipv4Addr sender_ip() const { return Ipv4Addr{load_be32(b_, kSpaOff)}; }
  MacAddr target_mac() const { return load_mac(b_, kThaOff); }
  Ipv4Addr target_ip() const { return Ipv4Addr{load_be32(b_, kTpaOff)}; }

 private:
  static constexpr size_t kHtypeOff = 0;
  static constexpr size_t kPtypeOff = 2;
  static constexpr size_t kHlenOff = 4;
  static constexpr size_t kPlenOff = 5;
  static constexpr size_t kOpOff = 6;
  static constexpr size_t kShaOff = 8;
  static constexpr size_t kSpaOff = 14;
  static constexpr size_t kThaOff = 18;
  static constexpr size_t kTpaOff = 24;

  explicit ArpView(std::span<const std::byte> b) : b_(b) {}
  std::span<const std::byte> b_;
};

}  // namespace netd::wire
