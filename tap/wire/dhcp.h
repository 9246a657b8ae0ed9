// DHCP messages (RFC 2131, options RFC 2132) carried in UDP 67/68.
//
// Theory of operation: a message is the 236-byte BOOTP fixed part (op, htype,
// hlen, hops, xid, secs, flags, ciaddr, yiaddr, siaddr, giaddr, chaddr[16],
// sname[64], file[128]) followed by the magic cookie 99.130.83.99 and a list
// of options. parse() requires the fixed part and the cookie (Truncated below
// 240 bytes, Malformed for a wrong cookie) and Ethernet addressing (htype 1,
// hlen 6, else Unsupported), so the fixed fields are read at fixed offsets.
//
// Options are looked up on demand by a bounded walk: PAD (0) is skipped,
// END (255) stops, every other option is code, length, value and must fit in
// the buffer; the first option that does not fit stops the walk (what it was
// looking for is then "absent"). Option overload into sname/file (option 52)
// is not followed: netd's clients do not use it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "common/expected.h"
#include "tap/wire/bytes.h"
#include "tap/wire/types.h"

namespace netd::wire {

constexpr uint16_t kDhcpServerPort = 67;
constexpr uint16_t kDhcpClientPort = 68;

constexpr size_t kDhcpFixedLen = 236;
constexpr size_t kDhcpOptionsOffset = 240;  // fixed part + magic cookie
constexpr uint32_t kDhcpMagicCookie = 0x63825363;
constexpr uint16_t kDhcpBroadcastFlag = 0x8000;

// BOOTP op.
constexpr uint8_t kBootRequest = 1;
constexpr uint8_t kBootReply = 2;

// Message types (option 53).
constexpr uint8_t kDhcpDiscover = 1;
constexpr uint8_t kDhcpOffer = 2;
constexpr uint8_t kDhcpRequest = 3;
constexpr uint8_t kDhcpDecline = 4;
constexpr uint8_t kDhcpAck = 5;
constexpr uint8_t kDhcpNak = 6;
constexpr uint8_t kDhcpRelease = 7;
constexpr uint8_t kDhcpInform = 8;

// Option codes.
constexpr uint8_t kDhcpOptPad = 0;
constexpr uint8_t kDhcpOptSubnetMask = 1;
constexpr uint8_t kDhcpOptRouter = 3;
constexpr uint8_t kDhcpOptDns = 6;
constexpr uint8_t kDhcpOptHostname = 12;
constexpr uint8_t kDhcpOptDomainName = 15;
constexpr uint8_t kDhcpOptInterfaceMtu = 26;
constexpr uint8_t kDhcpOptBroadcast = 28;
constexpr uint8_t kDhcpOptRequestedIp = 50;
constexpr uint8_t kDhcpOptLeaseTime = 51;
constexpr uint8_t kDhcpOptMessageType = 53;
constexpr uint8_t kDhcpOptServerId = 54;
constexpr uint8_t kDhcpOptParamRequestList = 55;
constexpr uint8_t kDhcpOptMaxMessageSize = 57;
constexpr uint8_t kDhcpOptRenewalTime = 58;
constexpr uint8_t kDhcpOptRebindingTime = 59;
constexpr uint8_t kDhcpOptClientId = 61;
constexpr uint8_t kDhcpOptEnd = 255;

class DhcpView {
 public:
  // Takes the UDP payload; see the theory of operation for the checks.
  static Expected<DhcpView, WireError> parse(std::span<const std::byte> b);

  uint8_t op() const { return load_u8(b_, kOpOff); }
  uint8_t hops() const { return load_u8(b_, kHopsOff); }
  uint32_t xid() const { return load_be32(b_, kXidOff); }
  uint16_t secs() const { return load_be16(b_, kSecsOff); }
  uint16_t flags() const { return load_be16(b_, kFlagsOff); }
  bool broadcast_flag() const { return (flags() & kDhcpBroadcastFlag) != 0; }
  Ipv4Addr ciaddr() const { return Ipv4Addr{load_be32(b_, kCiaddrOff)}; }
  Ipv4Addr yiaddr() const { return Ipv4Addr{load_be32(b_, kYiaddrOff)}; }
  Ipv4Addr siaddr() const { return Ipv4Addr{load_be32(b_, kSiaddrOff)}; }
  Ipv4Addr giaddr() const { return Ipv4Addr{load_be32(b_, kGiaddrOff)}; }
  // The first 6 bytes of chaddr (hlen is 6, checked by parse).
  MacAddr client_mac() const { return load_mac(b_, kChaddrOff); }
  // All 16 bytes of chaddr, as a reply must echo them.
  std::span<const std::byte> chaddr() const { return b_.subspan(kChaddrOff, kChaddrLen); }

  // The value of the first option `code`, or nullopt if absent (or if the
  // option list is malformed before it). PAD and END cannot be looked up.
  std::optional<std::span<const std::byte>> option(uint8_t code) const;
  std::optional<uint8_t> message_type() const;           // option 53, 1 byte
  std::optional<Ipv4Addr> requested_ip() const;          // option 50, 4 bytes
  std::optional<Ipv4Addr> server_id() const;             // option 54, 4 bytes
  std::optional<std::span<const std::byte>> client_id() const;  // option 61, >= 1 byte

  std::span<const std::byte> message() const { return b_; }

 private:
  friend class DhcpReplyBuilder;
  static constexpr size_t kOpOff = 0;
  static constexpr size_t kHtypeOff = 1;
  static constexpr size_t kHlenOff = 2;
  static constexpr size_t kHopsOff = 3;
  static constexpr size_t kXidOff = 4;
  static constexpr size_t kSecsOff = 8;
  static constexpr size_t kFlagsOff = 10;
  static constexpr size_t kCiaddrOff = 12;
  static constexpr size_t kYiaddrOff = 16;
  static constexpr size_t kSiaddrOff = 20;
  static constexpr size_t kGiaddrOff = 24;
  static constexpr size_t kChaddrOff = 28;
  static constexpr size_t kChaddrLen = 16;
  static constexpr size_t kCookieOff = 236;

  // An option whose value has exactly `len` bytes, else nullopt.
  std::optional<std::span<const std::byte>> option_of_size(uint8_t code, size_t len) const;

  explicit DhcpView(std::span<const std::byte> b) : b_(b) {}
  std::span<const std::byte> b_;
};

}  // namespace netd::wire
