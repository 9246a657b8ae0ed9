// Emitters: whole Ethernet frames for the guest, so engines never touch offsets.
//
// Theory of operation: each builder writes Ethernet + IP + L4 headers at
// the same named offsets the views read, fills every length field from the
// payload size and computes every checksum (IPv4 header, UDP/TCP with the
// pseudo-header, ICMP over the message, ICMPv6 with the pseudo-header).
// Whatever a builder emits parses back through the views with valid
// checksums; the unit tests check exactly that.
//
// The family comes from the IpHeader's addresses: IPv4 addresses make a
// 20-byte IPv4 header (and ICMP), IPv6 addresses a 40-byte IPv6 header with
// no extension headers (and ICMPv6). One builder per L4 protocol serves both.
//
// build_* return a fresh std::vector; an empty vector means the payload does
// not fit one IP packet (more than 65535 bytes after the IPv4 header's start,
// or in the IPv6 payload). The write_* variants are for
// the hot path: they write into caller memory and return the number of bytes
// written, or 0 if `out` is too small. They also accept a payload that
// already sits at out[frame_overhead_*()...] (read straight from a socket into
// the frame buffer); it is then not copied. Any other overlap of payload and
// `out` is not allowed.
//
// IpHeader::proto is ignored by the L4 builders, which always write the
// protocol they emit. Frames are not padded to the 60-byte Ethernet minimum:
// a TAP device takes short frames as they are.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "tap/wire/dhcp.h"
#include "tap/wire/ip.h"
#include "tap/wire/types.h"

namespace netd::wire {

struct L2Addrs {
  MacAddr src, dst;
};

struct IpHeader {
  IpAddr src, dst;                // both IPv4 or both IPv6
  IpProto proto = IpProto::Udp;
  uint8_t ttl = 64;               // IPv6: hop limit
  uint16_t id = 0;                // IPv4 only
  bool dont_fragment = true;      // IPv4 only
  uint8_t tos = 0;                // IPv6: traffic class
};

// Bytes of the IP header a builder writes for `ip` (20 or 40).
constexpr size_t ip_header_len(const IpHeader& ip) { return ip.src.is_v4() ? 20 : 40; }

struct TcpSegmentSpec {
  uint16_t sport = 0, dport = 0;
  SeqNum seq;
  SeqNum ack;
  uint8_t flags = 0;     // kTcp* bits
  uint16_t window = 0;   // raw field value (already scaled down by the sender's shift)
  std::optional<uint16_t> mss;     // emitted as MSS option (SYN segments)
  std::optional<uint8_t> wscale;   // emitted as NOP + window-scale option
  bool sack_permitted = false;     // emitted as NOP NOP + SACK-permitted
  // Leave the checksum to the receiver's "hardware": store only the folded
  // pseudo-header sum (virtio-net NEEDS_CSUM convention) instead of summing
  // the payload. Only for frames written to a tap with offloads enabled.
  bool checksum_partial = false;
};

// A 42-byte Ethernet + ARP frame.
std::vector<std::byte> build_arp(const L2Addrs& l2, uint16_t op, MacAddr sender_mac,
                                 Ipv4Addr sender_ip, MacAddr target_mac, Ipv4Addr target_ip);

// Ethernet + IP + UDP. The UDP checksum is always computed (0 is sent as 0xffff).
std::vector<std::byte> build_ip_udp(const L2Addrs& l2, const IpHeader& ip, uint16_t sport,
                                    uint16_t dport, std::span<const std::byte> payload);
constexpr size_t frame_overhead_udp(const IpHeader& ip) { return 14 + ip_header_len(ip) + 8; }
size_t write_ip_udp(std::span<std::byte> out, const L2Addrs& l2, const IpHeader& ip, uint16_t sport,
                    uint16_t dport, std::span<const std::byte> payload);

// Ethernet + IP + ICMP (ICMPv6 over IPv6): type, code, the 4-byte rest of
// header, then payload (echo data, NDP fields and options, or
// icmp_error_quote() of the offending packet for errors).
std::vector<std::byte> build_ip_icmp(const L2Addrs& l2, const IpHeader& ip, uint8_t type, uint8_t code,
                                     uint32_t rest_of_header, std::span<const std::byte> payload);

// Bytes before the TCP payload: Ethernet + IP + TCP header with options.
size_t frame_overhead_tcp(const IpHeader& ip, const TcpSegmentSpec& spec);
// Ethernet + IP + TCP (options padded to 4 bytes, checksum computed).
// Returns the frame length, or 0 if `out` is too small or the payload too large.
size_t write_ip_tcp(std::span<std::byte> out, const L2Addrs& l2, const IpHeader& ip,
                    const TcpSegmentSpec& spec, std::span<const std::byte> payload);
std::vector<std::byte> build_ip_tcp(const L2Addrs& l2, const IpHeader& ip, const TcpSegmentSpec& spec,
                                    std::span<const std::byte> payload);
// Only the headers (Ethernet + IP + TCP) of the segment that carries
// `payload`, for a caller that sends the payload from where it is, right
// after them (scatter-gather): lengths and the checksum cover the payload,
// which is read (unless checksum_partial) but not copied. Empty when the
// payload does not fit one packet.
std::vector<std::byte> build_ip_tcp_headers(const L2Addrs& l2, const IpHeader& ip, const TcpSegmentSpec& spec,
                                            std::span<const std::byte> payload);

// Builds the UDP payload of a BOOTREPLY answering `request`.
//
// The constructor writes the fixed part (op 2, xid, flags, giaddr and chaddr
// copied from the request; ciaddr copied for an ACK as RFC 2131 table 3
// asks; yiaddr as given), the magic cookie, option 53 (message_type) and
// option 54 (server_id). Options are appended in call order; a value longer
// than 255 bytes is split into consecutive options of the same code, which
// receivers concatenate (RFC 3396). finish() appends END and pads with zeros
// to at least 300 bytes, the BOOTP minimum some clients still expect.
class DhcpReplyBuilder {
 public:
  DhcpReplyBuilder(const DhcpView& request, uint8_t message_type, Ipv4Addr yiaddr,
                   Ipv4Addr server_id);

  void add_option(uint8_t code, std::span<const std::byte> value);
  void add_u8(uint8_t code, uint8_t v);
  void add_u16(uint8_t code, uint16_t v);
  void add_u32(uint8_t code, uint32_t v);
  void add_addr(uint8_t code, Ipv4Addr a);
  void add_addrs(uint8_t code, std::span<const Ipv4Addr> addrs);

  std::vector<std::byte> finish() const;

 private:
  std::vector<std::byte> buf_;
};

constexpr size_t kDhcpMinReplyLen = 300;

}  // namespace netd::wire
