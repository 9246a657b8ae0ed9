// DHCP message parsing and the option walk. See dhcp.h.
#include "tap/wire/dhcp.h"

namespace netd::wire {

Expected<DhcpView, WireError> DhcpView::parse(std::span<const std::byte> b) {
  if (b.size() < kDhcpOptionsOffset) return unexpected(WireError::Truncated);
  if (load_u8(b, kHtypeOff) != 1 || load_u8(b, kHlenOff) != 6) {
    return unexpected(WireError::Unsupported);
  }
  if (load_be32(b, kCookieOff) != kDhcpMagicCookie) return unexpected(WireError::Malformed);
  return DhcpView(b);
}

std::optional<std::span<const std::byte>> DhcpView::option(uint8_t code) const {
  if (code == kDhcpOptPad || code == kDhcpOptEnd) return std::nullopt;
  std::span<const std::byte> area = b_.subspan(kDhcpOptionsOffset);
  size_t i = 0;
  while (i < area.size()) {
    uint8_t c = load_u8(area, i);
    if (c == kDhcpOptEnd) break;
    if (c == kDhcpOptPad) {
      ++i;
      continue;
    }
    // code, length, value: both the length byte and the value must fit.
    if (i + 2 > area.size()) break;
    size_t len = load_u8(area, i + 1);
    if (len > area.size() - i - 2) break;
    if (c == code) return area.subspan(i + 2, len);
    i += 2 + len;
  }
  return std::nullopt;
}

std::optional<std::span<const std::byte>> DhcpView::option_of_size(uint8_t code,
                                                                   size_t len) const {
  auto v = option(code);
  if (!v || v->size() != len) return std::nullopt;
  return v;
}

std::optional<uint8_t> DhcpView::message_type() const {
  auto v = option_of_size(kDhcpOptMessageType, 1);
  if (!v) return std::nullopt;
  return load_u8(*v, 0);
}

std::optional<Ipv4Addr> DhcpView::requested_ip() const {
  auto v = option_of_size(kDhcpOptRequestedIp, 4);
  if (!v) return std::nullopt;
  return Ipv4Addr{load_be32(*v, 0)};
}

std::optional<Ipv4Addr> DhcpView::server_id() const {
  auto v = option_of_size(kDhcpOptServerId, 4);
  if (!v) return std::nullopt;
  return Ipv4Addr{load_be32(*v, 0)};
}

std::optional<std::span<const std::byte>> DhcpView::client_id() const {
  // RFC 2132 9.14: at least a type byte and one byte of identifier.
  auto v = option(kDhcpOptClientId);
  if (!v || v->size() < 2) return std::nullopt;
  return v;
}

}  // namespace netd::wire
