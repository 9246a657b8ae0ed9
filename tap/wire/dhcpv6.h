// DHCPv6 messages (RFC 8415) for stateless configuration: the client's
// Information-request and netd's Reply.
//
// Theory of operation: a client/server message is msg-type(1),
// transaction-id(3), then options, each code(2) length(2) value. parse()
// needs the 4 fixed bytes (Truncated) and validates the option area once: an
// option running past the message makes it Malformed. option() then walks
// without further checks and returns the first option with that code. Relay
// messages (types 12/13) have another layout and are Unsupported: no relay
// sits between a container and netd.
//
// Dhcpv6Reply builds netd's answer: same transaction id, options appended in
// call order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/expected.h"
#include "tap/wire/bytes.h"
#include "tap/wire/types.h"

namespace netd::wire {

constexpr uint16_t kDhcpv6ClientPort = 546;
constexpr uint16_t kDhcpv6ServerPort = 547;

// Message types.
constexpr uint8_t kDhcpv6Solicit = 1;
constexpr uint8_t kDhcpv6Reply = 7;
constexpr uint8_t kDhcpv6InformationRequest = 11;
constexpr uint8_t kDhcpv6RelayForward = 12;
constexpr uint8_t kDhcpv6RelayReply = 13;
// Option codes.
constexpr uint16_t kDhcpv6OptClientId = 1;
constexpr uint16_t kDhcpv6OptServerId = 2;
constexpr uint16_t kDhcpv6OptOro = 6;
constexpr uint16_t kDhcpv6OptStatusCode = 13;
constexpr uint16_t kDhcpv6OptDnsServers = 23;
constexpr uint16_t kDhcpv6OptDomainList = 24;
constexpr uint16_t kDhcpv6OptInfoRefreshTime = 32;

class Dhcpv6View {
 public:
  static Expected<Dhcpv6View, WireError> parse(std::span<const std::byte> b) {
    if (b.size() < kFixedLen) return unexpected(WireError::Truncated);
    uint8_t type = load_u8(b, 0);
    if (type == kDhcpv6RelayForward || type == kDhcpv6RelayReply) return unexpected(WireError::Unsupported);
    for (size_t off = kFixedLen; off < b.size();) {
      if (off + 4 > b.size()) return unexpected(WireError::Malformed);
      size_t len = load_be16(b, off + 2);
      if (len > b.size() - off - 4) return unexpected(WireError::Malformed);
      off += 4 + len;
    }
    return Dhcpv6View(b);
  }

  uint8_t msg_type() const { return load_u8(b_, 0); }
  uint32_t transaction_id() const { return load_be32(b_, 0) & 0xffffffu; }
  std::optional<std::span<const std::byte>> option(uint16_t code) const {
    for (size_t off = kFixedLen; off < b_.size();) {
      size_t len = load_be16(b_, off + 2);  // validated by parse()
      if (load_be16(b_, off) == code) return b_.subspan(off + 4, len);
      off += 4 + len;
    }
    return std::nullopt;
  }
  std::span<const std::byte> message() const { return b_; }

  static constexpr size_t kFixedLen = 4;

 private:
  explicit Dhcpv6View(std::span<const std::byte> b) : b_(b) {}
  std::span<const std::byte> b_;
};

class Dhcpv6Reply {
 public:
  Dhcpv6Reply(uint8_t msg_type, uint32_t transaction_id) : buf_(Dhcpv6View::kFixedLen) {
    store_be32(buf_, 0, (uint32_t{msg_type} << 24) | (transaction_id & 0xffffffu));
  }
  void add_option(uint16_t code, std::span<const std::byte> value) {
    size_t off = buf_.size();
    buf_.resize(off + 4 + value.size());
    store_be16(buf_, off, code);
    store_be16(buf_, off + 2, static_cast<uint16_t>(value.size()));
    store_bytes(buf_, off + 4, value);
  }
  void add_u32(uint16_t code, uint32_t v) {
    std::byte b[4];
    store_be32(b, 0, v);
    add_option(code, b);
  }
  void add_addrs(uint16_t code, std::span<const Ipv6Addr> addrs) {
    std::vector<std::byte> v(addrs.size() * 16);
    for (size_t i = 0; i < addrs.size(); ++i) store_ipv6(v, i * 16, addrs[i]);
    add_option(code, v);
  }
  const std::vector<std::byte>& bytes() const { return buf_; }

 private:
  std::vector<std::byte> buf_;
};

}  // namespace netd::wire
