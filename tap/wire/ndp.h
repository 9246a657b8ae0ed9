// Neighbor Discovery messages (RFC 4861) and their options (RFC 4861 4.6,
// RFC 8106 RDNSS/DNSSL).
//
// Theory of operation: NDP messages are ICMPv6 messages (types 133..136), so
// an NdpView is made from an already checked IcmpView. parse() knows each
// type's fixed part (RS 8 bytes, RA 16, NS and NA 24: the ICMPv6 header,
// the type's fields, and for NS/NA the 16-byte target) and requires it
// (Truncated), then validates the whole option area once: every option is
// type(1) length(1, in 8-byte units) value, and a length of 0 or an option
// running past the message makes the message invalid (Malformed; RFC 4861
// 4.6 asks receivers to discard such messages silently). After that,
// option() can walk the area without further checks. The code byte must be
// 0 (Malformed otherwise, RFC 4861 6.1/7.1). The hop-limit-255 rule lives
// with the IP header, in the responder.
//
// NdpOptions builds an option area for the replies netd sends (NA, RA).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/expected.h"
#include "tap/wire/bytes.h"
#include "tap/wire/icmp.h"
#include "tap/wire/types.h"

namespace netd::wire {

// Option types.
constexpr uint8_t kNdpOptSourceLinkAddr = 1;
constexpr uint8_t kNdpOptTargetLinkAddr = 2;
constexpr uint8_t kNdpOptPrefixInfo = 3;
constexpr uint8_t kNdpOptMtu = 5;
constexpr uint8_t kNdpOptRdnss = 25;
constexpr uint8_t kNdpOptDnssl = 31;

// RA flags byte and NA flags (top bits of the first 32-bit word).
constexpr uint8_t kRaManaged = 0x80;
constexpr uint8_t kRaOther = 0x40;
constexpr uint32_t kNaRouter = 0x80000000u;
constexpr uint32_t kNaSolicited = 0x40000000u;
constexpr uint32_t kNaOverride = 0x20000000u;
// Prefix information flags.
constexpr uint8_t kPrefixOnLink = 0x80;
constexpr uint8_t kPrefixAutonomous = 0x40;

struct NdpPrefixInfo {
  uint8_t prefix_len = 0;
  uint8_t flags = 0;
  uint32_t valid_lifetime = 0;
  uint32_t preferred_lifetime = 0;
  Ipv6Addr prefix;
};

class NdpView {
 public:
  static Expected<NdpView, WireError> parse(const IcmpView& icmp) {
    auto m = icmp.message();
    size_t fixed;
    switch (icmp.type()) {
      case kNdpRouterSolicitation: fixed = 8; break;
      case kNdpRouterAdvertisement: fixed = 16; break;
      case kNdpNeighborSolicitation:
      case kNdpNeighborAdvertisement: fixed = 24; break;
      default: return unexpected(WireError::Unsupported);
    }
    if (icmp.code() != 0) return unexpected(WireError::Malformed);
    if (m.size() < fixed) return unexpected(WireError::Truncated);
    for (size_t off = fixed; off < m.size();) {
      if (off + 2 > m.size()) return unexpected(WireError::Malformed);
      size_t len = size_t{load_u8(m, off + 1)} * 8;
      if (len == 0 || len > m.size() - off) return unexpected(WireError::Malformed);
      off += len;
    }
    return NdpView(m, fixed);
  }

  uint8_t type() const { return load_u8(b_, 0); }
  // NS/NA: the address being resolved or advertised.
  Ipv6Addr target() const { return load_ipv6(b_, 8); }
  // NA flags (kNa*).
  uint32_t na_flags() const { return load_be32(b_, 4) & 0xe0000000u; }
  // RA fields.
  uint8_t cur_hop_limit() const { return load_u8(b_, 4); }
  uint8_t ra_flags() const { return load_u8(b_, 5); }
  uint16_t router_lifetime() const { return load_be16(b_, 6); }
  uint32_t reachable_time() const { return load_be32(b_, 8); }
  uint32_t retrans_timer() const { return load_be32(b_, 12); }

  // The value bytes (after type and length) of the first option of `type`.
  std::optional<std::span<const std::byte>> option(uint8_t type) const {
    for (size_t off = fixed_; off < b_.size();) {
      size_t len = size_t{load_u8(b_, off + 1)} * 8;  // validated by parse()
      if (load_u8(b_, off) == type) return b_.subspan(off + 2, len - 2);
      off += len;
    }
    return std::nullopt;
  }
  // Source/target link-layer address options (Ethernet: 6 of the 6 value bytes).
  std::optional<MacAddr> link_addr(uint8_t type) const {
    auto v = option(type);
    if (!v || v->size() < 6) return std::nullopt;
    return load_mac(*v, 0);
  }
  std::optional<uint32_t> mtu() const {
    auto v = option(kNdpOptMtu);
    if (!v || v->size() != 6) return std::nullopt;
    return load_be32(*v, 2);
  }
  std::optional<NdpPrefixInfo> prefix_info() const {
    auto v = option(kNdpOptPrefixInfo);
    if (!v || v->size() != 30) return std::nullopt;
    return NdpPrefixInfo{load_u8(*v, 0), load_u8(*v, 1), load_be32(*v, 2), load_be32(*v, 6),
                         load_ipv6(*v, 14)};
  }
  // RDNSS: the lifetime and the first server (netd announces one).
  std::optional<std::pair<uint32_t, Ipv6Addr>> rdnss() const {
    auto v = option(kNdpOptRdnss);
    if (!v || v->size() < 22) return std::nullopt;
    return std::pair{load_be32(*v, 2), load_ipv6(*v, 6)};
  }
  std::span<const std::byte> options() const { return b_.subspan(fixed_); }

 private:
  NdpView(std::span<const std::byte> b, size_t fixed) : b_(b), fixed_(fixed) {}
  std::span<const std::byte> b_;  // the whole ICMPv6 message
  size_t fixed_;
};

// Appends NDP options in call order, each padded to 8 bytes.
class NdpOptions {
 public:
  void link_addr(uint8_t type, const MacAddr& mac) {
    auto o = start(type, 1);
    store_mac(o, 2, mac);
  }
  void mtu(uint32_t mtu) {
    auto o = start(kNdpOptMtu, 1);
    store_be32(o, 4, mtu);
  }
  void prefix_info(const NdpPrefixInfo& p) {
    auto o = start(kNdpOptPrefixInfo, 4);
    store_u8(o, 2, p.prefix_len);
    store_u8(o, 3, p.flags);
    store_be32(o, 4, p.valid_lifetime);
    store_be32(o, 8, p.preferred_lifetime);
    store_ipv6(o, 16, p.prefix);
  }
  void rdnss(uint32_t lifetime, const Ipv6Addr& server) {
    auto o = start(kNdpOptRdnss, 3);
    store_be32(o, 4, lifetime);
    store_ipv6(o, 8, server);
  }
  const std::vector<std::byte>& bytes() const { return buf_; }

 private:
  // Appends a zeroed option of `units` * 8 bytes and returns it.
  std::span<std::byte> start(uint8_t type, uint8_t units) {
    size_t off = buf_.size();
    buf_.resize(off + size_t{units} * 8);
    std::span<std::byte> o = std::span(buf_).subspan(off);
    store_u8(o, 0, type);
    store_u8(o, 1, units);
    return o;
  }
  std::vector<std::byte> buf_;
};

}  // namespace netd::wire
