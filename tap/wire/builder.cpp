// Frame emitters. See builder.h.
#include "tap/wire/builder.h"

#include <algorithm>

#include "tap/wire/arp.h"
#include "tap/wire/bytes.h"
#include "tap/wire/checksum.h"
#include "tap/wire/ethernet.h"
#include "tap/wire/icmp.h"
#include "tap/wire/ipv4.h"
#include "tap/wire/ipv6.h"
#include "tap/wire/tcp.h"
#include "tap/wire/udp.h"

namespace netd::wire {

namespace {

constexpr size_t kIpOff = kEthernetHeaderLen;  // IP header in a frame

// Where the L4 header starts in a frame for `ip` (no IP options or extension headers).
constexpr size_t l4_off(const IpHeader& ip) { return kEthernetHeaderLen + ip_header_len(ip); }
// The largest L4 segment one packet carries: IPv4's total length counts its
// header, IPv6's payload length does not.
constexpr size_t max_l4(const IpHeader& ip) { return ip.src.is_v4() ? 65535 - kIpv4MinHeaderLen : 65535; }

constexpr EtherType ether_type(const IpHeader& ip) { return ip.src.is_v4() ? EtherType::Ipv4 : EtherType::Ipv6; }

// Writes the 14-byte Ethernet header at the start of `out`.
void write_ethernet(std::span<std::byte> out, const L2Addrs& l2, EtherType type) {
  store_mac(out, 0, l2.dst);
  store_mac(out, 6, l2.src);
  store_be16(out, 12, static_cast<uint16_t>(type));
}

// Writes the IP header for `ip` at kIpOff for `l4_len` payload bytes of
// protocol `proto`: 20 bytes of IPv4 (no options, with its checksum) or 40 of
// IPv6 (flow label 0). Requires l4_len <= max_l4(ip).
void write_ip(std::span<std::byte> out, const IpHeader& ip, IpProto proto, size_t l4_len) {
  if (ip.src.is_v6()) {
    std::span<std::byte> h = out.subspan(kIpOff, kIpv6HeaderLen);
    store_be32(h, 0, (uint32_t{6} << 28) | (uint32_t{ip.tos} << 20));
    store_be16(h, 4, static_cast<uint16_t>(l4_len));
    store_u8(h, 6, static_cast<uint8_t>(proto));
    store_u8(h, 7, ip.ttl);
    store_ipv6(h, 8, ip.src.v6());
    store_ipv6(h, 24, ip.dst.v6());
    return;
  }
  std::span<std::byte> h = out.subspan(kIpOff, kIpv4MinHeaderLen);
  store_u8(h, 0, 0x45);  // version 4, IHL 5
  store_u8(h, 1, ip.tos);
  store_be16(h, 2, static_cast<uint16_t>(kIpv4MinHeaderLen + l4_len));
  store_be16(h, 4, ip.id);
  store_be16(h, 6, ip.dont_fragment ? 0x4000 : 0);
  store_u8(h, 8, ip.ttl);
  store_u8(h, 9, static_cast<uint8_t>(proto));
  store_be16(h, 10, 0);
  store_be32(h, 12, ip.src.v4().v);
  store_be32(h, 16, ip.dst.v4().v);
  store_be16(h, 10, internet_checksum(h));
}

// Length of the TCP option area `spec` asks for, padded to 4 bytes.
size_t tcp_options_len(const TcpSegmentSpec& spec) {
  size_t n = 0;
  if (spec.mss) n += 4;             // kind, len, mss(2)
  if (spec.sack_permitted) n += 4;  // NOP NOP kind len
  if (spec.wscale) n += 4;          // NOP kind len shift
  return (n + 3) & ~size_t{3};
}

// Writes the option area; NOPs align each option so the area needs no
// trailing padding (the rounding above stays as a guard for future options).
void write_tcp_options(std::span<std::byte> o, const TcpSegmentSpec& spec) {
  size_t i = 0;
  if (spec.mss) {
    store_u8(o, i, kTcpOptMss);
    store_u8(o, i + 1, 4);
    store_be16(o, i + 2, *spec.mss);
    i += 4;
  }
  if (spec.sack_permitted) {
    store_u8(o, i, kTcpOptNop);
    store_u8(o, i + 1, kTcpOptNop);
    store_u8(o, i + 2, kTcpOptSackPermitted);
    store_u8(o, i + 3, 2);
    i += 4;
  }
  if (spec.wscale) {
    store_u8(o, i, kTcpOptNop);
    store_u8(o, i + 1, kTcpOptWindowScale);
    store_u8(o, i + 2, 3);
    store_u8(o, i + 3, *spec.wscale);
    i += 4;
  }
  for (; i < o.size(); ++i) store_u8(o, i, kTcpOptEol);
}

// Computes and stores the L4 checksum of `seg` at `csum_off` within it.
void store_l4_checksum(std::span<std::byte> seg, size_t csum_off, const IpHeader& ip, IpProto proto) {
  Checksum c = ip_pseudo_header(ip.src, ip.dst, proto, static_cast<uint32_t>(seg.size()));
  store_be16(seg, csum_off, 0);
  c.add(seg);
  uint16_t sum = c.finish();
  // UDP reserves 0 for "no checksum"; the one's complement of 0 is 0xffff.
  if (proto == IpProto::Udp && sum == 0) sum = 0xffff;
  store_be16(seg, csum_off, sum);
}

}  // namespace

std::vector<std::byte> build_arp(const L2Addrs& l2, uint16_t op, MacAddr sender_mac,
                                 Ipv4Addr sender_ip, MacAddr target_mac, Ipv4Addr target_ip) {
  std::vector<std::byte> f(kEthernetHeaderLen + kArpLen);
  std::span<std::byte> out(f);
  write_ethernet(out, l2, EtherType::Arp);
  std::span<std::byte> a = out.subspan(kEthernetHeaderLen);
  store_be16(a, 0, 1);       // htype Ethernet
  store_be16(a, 2, 0x0800);  // ptype IPv4
  store_u8(a, 4, 6);
  store_u8(a, 5, 4);
  store_be16(a, 6, op);
  store_mac(a, 8, sender_mac);
  store_be32(a, 14, sender_ip.v);
  store_mac(a, 18, target_mac);
  store_be32(a, 24, target_ip.v);
  return f;
}

size_t write_ip_udp(std::span<std::byte> out, const L2Addrs& l2, const IpHeader& ip, uint16_t sport,
                    uint16_t dport, std::span<const std::byte> payload) {
  const size_t l4_len = kUdpHeaderLen + payload.size();
  const size_t total = l4_off(ip) + l4_len;
  if (l4_len > max_l4(ip) || out.size() < total) return 0;
  write_ethernet(out, l2, ether_type(ip));
  write_ip(out, ip, IpProto::Udp, l4_len);
  std::span<std::byte> seg = out.subspan(l4_off(ip), l4_len);
  store_be16(seg, 0, sport);
  store_be16(seg, 2, dport);
  store_be16(seg, 4, static_cast<uint16_t>(l4_len));
  if (payload.data() != seg.subspan(kUdpHeaderLen).data()) {
    store_bytes(seg, kUdpHeaderLen, payload);
  }
  store_l4_checksum(seg, 6, ip, IpProto::Udp);
  return total;
}

std::vector<std::byte> build_ip_udp(const L2Addrs& l2, const IpHeader& ip, uint16_t sport, uint16_t dport,
                                    std::span<const std::byte> payload) {
  if (kUdpHeaderLen + payload.size() > max_l4(ip)) return {};
  std::vector<std::byte> f(frame_overhead_udp(ip) + payload.size());
  write_ip_udp(f, l2, ip, sport, dport, payload);
  return f;
}

std::vector<std::byte> build_ip_icmp(const L2Addrs& l2, const IpHeader& ip, uint8_t type, uint8_t code,
                                     uint32_t rest_of_header, std::span<const std::byte> payload) {
  const size_t l4_len = kIcmpHeaderLen + payload.size();
  if (l4_len > max_l4(ip)) return {};
  const IpProto proto = ip.src.is_v4() ? IpProto::Icmp : IpProto::Icmpv6;
  std::vector<std::byte> f(l4_off(ip) + l4_len);
  std::span<std::byte> out(f);
  write_ethernet(out, l2, ether_type(ip));
  write_ip(out, ip, proto, l4_len);
  std::span<std::byte> m = out.subspan(l4_off(ip));
  store_u8(m, 0, type);
  store_u8(m, 1, code);
  store_be16(m, 2, 0);
  store_be32(m, 4, rest_of_header);
  store_bytes(m, kIcmpHeaderLen, payload);
  // ICMPv6 sums the pseudo-header too; ICMPv4 only the message.
  Checksum c = proto == IpProto::Icmpv6 ? ip_pseudo_header(ip.src, ip.dst, proto, static_cast<uint32_t>(l4_len))
                                        : Checksum{};
  c.add(m);
  store_be16(m, 2, c.finish());
  return f;
}

size_t frame_overhead_tcp(const IpHeader& ip, const TcpSegmentSpec& spec) {
  return l4_off(ip) + kTcpMinHeaderLen + tcp_options_len(spec);
}

namespace {

// Writes the Ethernet, IP and TCP headers (hl bytes of TCP header) of the
// segment carrying `payload` at the start of `out`, which must hold them;
// the checksum covers `payload` wherever it is (it is not copied).
void write_tcp_headers(std::span<std::byte> out, const L2Addrs& l2, const IpHeader& ip,
                       const TcpSegmentSpec& spec, std::span<const std::byte> payload, size_t hl) {
  const size_t l4_len = hl + payload.size();
  write_ethernet(out, l2, ether_type(ip));
  write_ip(out, ip, IpProto::Tcp, l4_len);
  std::span<std::byte> h = out.subspan(l4_off(ip), hl);
  store_be16(h, 0, spec.sport);
  store_be16(h, 2, spec.dport);
  store_be32(h, 4, spec.seq.value());
  store_be32(h, 8, spec.ack.value());
  store_u8(h, 12, static_cast<uint8_t>((hl / 4) << 4));
  store_u8(h, 13, spec.flags);
  store_be16(h, 14, spec.window);
  store_be16(h, 16, 0);
  store_be16(h, 18, 0);  // urgent pointer: netd never sends urgent data
  write_tcp_options(h.subspan(kTcpMinHeaderLen, hl - kTcpMinHeaderLen), spec);
  Checksum c = ip_pseudo_header(ip.src, ip.dst, IpProto::Tcp, static_cast<uint32_t>(l4_len));
  if (spec.checksum_partial) {
    // finish() returns the complement; the partial convention wants the sum.
    store_be16(h, 16, static_cast<uint16_t>(~c.finish()));
    return;
  }
  c.add(h);  // an even length (20 + options in 4-byte steps): the payload continues word-aligned
  c.add(payload);
  store_be16(h, 16, c.finish());
}

}  // namespace

size_t write_ip_tcp(std::span<std::byte> out, const L2Addrs& l2, const IpHeader& ip,
                    const TcpSegmentSpec& spec, std::span<const std::byte> payload) {
  const size_t hl = kTcpMinHeaderLen + tcp_options_len(spec);
  const size_t l4_len = hl + payload.size();
  const size_t total = l4_off(ip) + l4_len;
  if (l4_len > max_l4(ip) || out.size() < total) return 0;
  std::span<std::byte> in_place = out.subspan(l4_off(ip) + hl, payload.size());
  // Skip the copy when the caller already read the payload into place.
  if (payload.data() != in_place.data()) store_bytes(in_place, 0, payload);
  write_tcp_headers(out, l2, ip, spec, in_place, hl);
  return total;
}

std::vector<std::byte> build_ip_tcp(const L2Addrs& l2, const IpHeader& ip, const TcpSegmentSpec& spec,
                                    std::span<const std::byte> payload) {
  std::vector<std::byte> f(frame_overhead_tcp(ip, spec) + payload.size());
  size_t n = write_ip_tcp(f, l2, ip, spec, payload);
  f.resize(n);  // 0 (empty) when the payload does not fit one packet
  return f;
}

std::vector<std::byte> build_ip_tcp_headers(const L2Addrs& l2, const IpHeader& ip, const TcpSegmentSpec& spec,
                                            std::span<const std::byte> payload) {
  const size_t hl = kTcpMinHeaderLen + tcp_options_len(spec);
  if (hl + payload.size() > max_l4(ip)) return {};
  std::vector<std::byte> f(l4_off(ip) + hl);
  write_tcp_headers(f, l2, ip, spec, payload, hl);
  return f;
}

DhcpReplyBuilder::DhcpReplyBuilder(const DhcpView& request, uint8_t message_type,
                                   Ipv4Addr yiaddr, Ipv4Addr server_id)
    : buf_(kDhcpOptionsOffset) {
  std::span<std::byte> b(buf_);
  store_u8(b, DhcpView::kOpOff, kBootReply);
  store_u8(b, DhcpView::kHtypeOff, 1);
  store_u8(b, DhcpView::kHlenOff, 6);
  store_be32(b, DhcpView::kXidOff, request.xid());
  store_be16(b, DhcpView::kFlagsOff, request.flags());
  if (message_type == kDhcpAck) store_be32(b, DhcpView::kCiaddrOff, request.ciaddr().v);
  store_be32(b, DhcpView::kYiaddrOff, yiaddr.v);
  store_be32(b, DhcpView::kGiaddrOff, request.giaddr().v);
  store_bytes(b, DhcpView::kChaddrOff, request.chaddr());
  store_be32(b, DhcpView::kCookieOff, kDhcpMagicCookie);
  add_u8(kDhcpOptMessageType, message_type);
  add_addr(kDhcpOptServerId, server_id);
}

void DhcpReplyBuilder::add_option(uint8_t code, std::span<const std::byte> value) {
  // An empty value is still one option (e.g. rapid commit carries none).
  do {
    size_t n = std::min<size_t>(value.size(), 255);
    buf_.push_back(static_cast<std::byte>(code));
    buf_.push_back(static_cast<std::byte>(n));
    std::span<const std::byte> piece = value.first(n);
    buf_.insert(buf_.end(), piece.begin(), piece.end());
    value = value.subspan(n);
  } while (!value.empty());
}

void DhcpReplyBuilder::add_u8(uint8_t code, uint8_t v) {
  std::byte b[1] = {static_cast<std::byte>(v)};
  add_option(code, b);
}

void DhcpReplyBuilder::add_u16(uint8_t code, uint16_t v) {
  std::byte b[2];
  store_be16(b, 0, v);
  add_option(code, b);
}

void DhcpReplyBuilder::add_u32(uint8_t code, uint32_t v) {
  std::byte b[4];
  store_be32(b, 0, v);
  add_option(code, b);
}

void DhcpReplyBuilder::add_addr(uint8_t code, Ipv4Addr a) { add_u32(code, a.v); }

void DhcpReplyBuilder::add_addrs(uint8_t code, std::span<const Ipv4Addr> addrs) {
  std::vector<std::byte> v(addrs.size() * 4);
  for (size_t i = 0; i < addrs.size(); ++i) store_be32(v, i * 4, addrs[i].v);
  add_option(code, v);
}

std::vector<std::byte> DhcpReplyBuilder::finish() const {
  std::vector<std::byte> out = buf_;
  out.push_back(static_cast<std::byte>(kDhcpOptEnd));
  if (out.size() < kDhcpMinReplyLen) out.resize(kDhcpMinReplyLen);
  return out;
}

}  // namespace netd::wire
