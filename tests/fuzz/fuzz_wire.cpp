// libFuzzer target for tap/wire: the input is one Ethernet frame.
//
// Theory of operation: every view reachable from the frame is parsed and
// every accessor touched (values are folded into a sink so nothing is
// optimised away); AddressSanitizer turns any read outside the input into a
// crash. Random bytes almost never carry valid checksums, which would keep
// the fuzzer out of everything behind a checksum check, so each input is
// walked twice: as given (exercising rejection) and as a copy whose IPv4,
// ICMP/ICMPv6, UDP and TCP checksums the harness has repaired (for IPv6 the
// upper layer after the extension headers, found with the view's own walk). Whatever parses is
// also fed to the emitters, whose output must parse back with the same
// fields (a mismatch traps).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "tap/wire/arp.h"
#include "tap/wire/builder.h"
#include "tap/wire/bytes.h"
#include "tap/wire/checksum.h"
#include "tap/wire/dhcp.h"
#include "tap/wire/dhcpv6.h"
#include "tap/wire/ethernet.h"
#include "tap/wire/icmp.h"
#include "tap/wire/ipv4.h"
#include "tap/wire/ipv6.h"
#include "tap/wire/ndp.h"
#include "tap/wire/ip.h"
#include "tap/wire/tcp.h"
#include "tap/wire/udp.h"

using namespace netd::wire;

namespace {

uint64_t g_sink = 0;

void touch(uint64_t v) { g_sink = g_sink * 31 + v; }
void touch(std::span<const std::byte> s) {
  for (std::byte b : s) touch(static_cast<uint8_t>(b));
}
void touch(const MacAddr& m) {
  for (uint8_t b : m.b) touch(b);
}

void check(bool ok) {
  if (!ok) __builtin_trap();
}

void walk_dhcp(std::span<const std::byte> payload) {
  auto d = DhcpView::parse(payload);
  if (!d) return;
  touch(d->op() + d->hops() + d->xid() + d->secs() + d->flags() + d->broadcast_flag());
  touch(d->ciaddr().v ^ d->yiaddr().v ^ d->siaddr().v ^ d->giaddr().v);
  touch(d->client_mac());
  touch(d->chaddr());
  for (int code = 0; code < 256; ++code) {
    if (auto o = d->option(static_cast<uint8_t>(code))) touch(*o);
  }
  if (auto t = d->message_type()) touch(*t);
  if (auto a = d->requested_ip()) touch(a->v);
  if (auto a = d->server_id()) touch(a->v);
  if (auto c = d->client_id()) touch(*c);
  // A reply to anything that parses must parse back with the request's fields.
  DhcpReplyBuilder r(*d, kDhcpOffer, Ipv4Addr{0x0a00020f}, Ipv4Addr{0x0a000202});
  if (auto c = d->client_id()) r.add_option(kDhcpOptClientId, *c);
  auto out = r.finish();
  auto back = DhcpView::parse(out);
  check(back.has_value());
  check(back->xid() == d->xid() && back->client_mac() == d->client_mac());
  check(back->message_type() == kDhcpOffer);
}

// Parses a frame the builders made back to its IP layer (either family).
std::optional<IpView> ip_of_built(std::span<const std::byte> f) {
  auto eth = EthernetView::parse(f);
  check(eth.has_value());
  if (eth->ethertype() == EtherType::Ipv4) {
    auto ip = Ipv4View::parse(eth->payload());
    check(ip.has_value());
    return IpView(*ip);
  }
  auto ip = Ipv6View::parse(eth->payload());
  check(ip.has_value());
  return IpView(*ip);
}

void walk_dhcpv6(std::span<const std::byte> payload) {
  auto m = Dhcpv6View::parse(payload);
  if (!m) return;
  touch(m->msg_type() + m->transaction_id());
  for (uint16_t code : {kDhcpv6OptClientId, kDhcpv6OptServerId, kDhcpv6OptOro, uint16_t{0xffff}})
    if (auto o = m->option(code)) touch(*o);
  Dhcpv6Reply r(kDhcpv6Reply, m->transaction_id());
  if (auto c = m->option(kDhcpv6OptClientId)) r.add_option(kDhcpv6OptClientId, *c);
  auto back = Dhcpv6View::parse(r.bytes());
  check(back.has_value() && back->transaction_id() == m->transaction_id());
}

void walk_ndp(const IcmpView& icmp) {
  auto n = NdpView::parse(icmp);
  if (!n) return;
  touch(n->type() + n->na_flags() + n->cur_hop_limit() + n->ra_flags() + n->router_lifetime() +
        n->reachable_time() + n->retrans_timer());
  if (n->type() == kNdpNeighborSolicitation || n->type() == kNdpNeighborAdvertisement) {
    for (uint8_t b : n->target().b) touch(b);
  }
  for (uint8_t t : {kNdpOptSourceLinkAddr, kNdpOptTargetLinkAddr}) {
    if (auto m = n->link_addr(t)) touch(*m);
  }
  touch(n->mtu().value_or(0));
  if (auto p = n->prefix_info()) touch(p->prefix_len + p->flags + p->valid_lifetime + p->preferred_lifetime);
  if (auto r = n->rdnss()) touch(r->first);
  touch(n->options());
}

void walk_tcp(const IpView& ip) {
  auto seg = ip.payload();
  auto t = TcpView::parse(seg, ip.pseudo_header(IpProto::Tcp));
  if (!t) {
    // The option walker on its own, over whatever follows a fixed header.
    if (seg.size() > kTcpMinHeaderLen) {
      TcpOptions o = parse_tcp_options(seg.subspan(kTcpMinHeaderLen));
      touch(o.mss.value_or(0) + o.window_scale.value_or(0) + o.sack_permitted);
    }
    return;
  }
  touch(t->src_port() + t->dst_port() + t->seq().value() + t->ack().value());
  touch(t->header_length() + t->flags() + t->syn() + t->ack_flag() + t->fin() + t->rst() +
        t->psh() + t->urg() + t->window() + t->checksum() + t->urgent());
  touch(t->header());
  touch(t->option_bytes());
  touch(t->payload());
  touch(t->segment());
  TcpOptions o = t->options();
  touch(o.mss.value_or(0) + o.window_scale.value_or(0) + o.sack_permitted);
  if (o.timestamps) touch(o.timestamps->first ^ o.timestamps->second);
  // Re-emit with the same fields and the options the builder knows.
  TcpSegmentSpec spec{.sport = t->src_port(), .dport = t->dst_port(), .seq = t->seq(),
                      .ack = t->ack(), .flags = t->flags(), .window = t->window(),
                      .mss = o.mss, .wscale = o.window_scale,
                      .sack_permitted = o.sack_permitted};
  auto f = build_ip_tcp({}, {.src = ip.src(), .dst = ip.dst()}, spec, t->payload());
  if (f.empty()) return;  // payload too large for one packet with these options
  auto ip2 = ip_of_built(f);
  auto t2 = TcpView::parse(ip2->payload(), ip2->pseudo_header(IpProto::Tcp));
  check(t2.has_value());
  check(t2->seq() == t->seq() && t2->ack() == t->ack() && t2->flags() == t->flags());
  check(t2->payload().size() == t->payload().size());
  TcpOptions o2 = t2->options();
  check(o2.mss == o.mss && o2.window_scale == o.window_scale &&
        o2.sack_permitted == o.sack_permitted);
}

void walk_udp(const IpView& ip) {
  auto seg = ip.payload();
  auto u = UdpView::parse(seg, ip.pseudo_header(IpProto::Udp), !ip.is_v6());
  if (!u) return;
  touch(u->src_port() + u->dst_port() + u->length() + u->checksum());
  touch(u->payload());
  touch(u->datagram());
  if (ip.is_v6()) walk_dhcpv6(u->payload());
  else walk_dhcp(u->payload());
  auto f = build_ip_udp({}, {.src = ip.dst(), .dst = ip.src()}, u->dst_port(), u->src_port(),
                          u->payload());
  if (f.empty()) return;  // an IPv6 payload of 65535 leaves no room for our header
  auto ip2 = ip_of_built(f);
  auto u2 = UdpView::parse(ip2->payload(), ip2->pseudo_header(IpProto::Udp), !ip2->is_v6());
  check(u2.has_value());
  check(u2->src_port() == u->dst_port() && u2->payload().size() == u->payload().size());
}

void walk_icmp(const Ipv4View& ip) {
  auto m = IcmpView::parse(ip.payload());
  if (!m) return;
  touch(m->type() + m->code() + m->checksum() + m->rest_of_header() + m->echo_id() +
        m->echo_seq() + m->next_hop_mtu());
  touch(m->payload());
  touch(m->message());
  // Errors quote a datagram: walk it as IPv4 too (no recursion beyond one level).
  if (auto inner = Ipv4View::parse(m->payload())) touch(inner->header());
}

void walk_ipv6(std::span<const std::byte> b) {
  auto ip6 = Ipv6View::parse(b);
  if (!ip6) return;
  touch(ip6->traffic_class() + ip6->flow_label() + ip6->payload_length() + ip6->next_header() +
        ip6->hop_limit() + static_cast<uint8_t>(ip6->protocol()) + ip6->is_fragment() + ip6->header_length());
  touch(ip6->header());
  touch(ip6->packet());
  touch(ip6->payload());
  const IpView ip(*ip6);
  auto quote = icmp_error_quote(ip);
  touch(quote);
  auto err = build_ip_icmp({}, {.src = ip.dst(), .dst = ip.src()}, kIcmpv6DestUnreachable,
                           kIcmpv6PortUnreachable, 0, quote);
  auto eip = ip_of_built(err);
  auto em = IcmpView::parse(eip->payload(), eip->pseudo_header(IpProto::Icmpv6));
  check(em.has_value());
  check(em->payload().size() == quote.size());
  if (ip6->is_fragment()) return;
  switch (ip.protocol()) {
    case IpProto::Icmpv6:
      if (auto m = IcmpView::parse(ip.payload(), ip.pseudo_header(IpProto::Icmpv6))) {
        touch(m->type() + m->code() + m->echo_id() + m->echo_seq());
        walk_ndp(*m);
      }
      break;
    case IpProto::Udp: walk_udp(ip); break;
    case IpProto::Tcp: walk_tcp(ip); break;
    default: break;
  }
}

void walk_ipv4(std::span<const std::byte> b) {
  auto ip = Ipv4View::parse(b);
  if (!ip) return;
  touch(ip->tos() + ip->header_length() + ip->total_length() + ip->id() + ip->dont_fragment() +
        ip->more_fragments() + ip->fragment_offset() + ip->is_fragment() + ip->ttl() +
        static_cast<uint8_t>(ip->protocol()) + ip->header_checksum());
  touch(ip->src().v ^ ip->dst().v);
  touch(ip->header());
  touch(ip->packet());
  touch(ip->payload());
  auto quote = icmp_error_quote(*ip);
  touch(quote);
  // Any parsed packet can be answered with an ICMP error that parses back.
  auto err = build_ip_icmp({}, {.src = ip->dst(), .dst = ip->src()}, kIcmpDestUnreachable,
                             kIcmpPortUnreachable, 0, quote);
  auto eip = Ipv4View::parse(std::span<const std::byte>(err).subspan(kEthernetHeaderLen));
  check(eip.has_value());
  auto em = IcmpView::parse(eip->payload());
  check(em.has_value());
  check(em->payload().size() == quote.size());
  if (ip->is_fragment()) return;
  switch (ip->protocol()) {
    case IpProto::Icmp: walk_icmp(*ip); break;
    case IpProto::Udp: walk_udp(*ip); break;
    case IpProto::Tcp: walk_tcp(*ip); break;
    default: break;
  }
}

void walk_frame(std::span<const std::byte> frame) {
  auto eth = EthernetView::parse(frame);
  if (!eth) return;
  touch(eth->dst());
  touch(eth->src());
  touch(eth->ethertype());
  touch(eth->frame().size());
  if (eth->ethertype() == EtherType::Arp) {
    if (auto a = ArpView::parse(eth->payload())) {
      touch(a->op() + a->sender_ip().v + a->target_ip().v);
      touch(a->sender_mac());
      touch(a->target_mac());
      auto r = build_arp({}, kArpReply, a->target_mac(), a->target_ip(), a->sender_mac(),
                         a->sender_ip());
      auto back = ArpView::parse(std::span<const std::byte>(r).subspan(kEthernetHeaderLen));
      check(back.has_value() && back->sender_ip() == a->target_ip());
    }
  } else if (eth->ethertype() == EtherType::Ipv4) {
    walk_ipv4(eth->payload());
  } else if (eth->ethertype() == EtherType::Ipv6) {
    walk_ipv6(eth->payload());
  }
}

// Stores a fresh checksum over `covered` at `field` (both in `b`), with an
// optional pseudo-header seed. Bounds are checked by the callers.
void repair(std::span<std::byte> covered, size_t field, Checksum seed, bool udp) {
  store_be16(covered, field, 0);
  seed.add(covered);
  uint16_t c = seed.finish();
  if (udp && c == 0) c = 0xffff;
  store_be16(covered, field, c);
}

// The same for IPv6: the view's own walk finds the upper layer.
void repair_ipv6(std::span<std::byte> ip) {
  auto v = Ipv6View::parse(ip);
  if (!v || v->is_fragment()) return;
  const IpView iv(*v);
  std::span<std::byte> l4 = ip.subspan(v->header_length(), v->payload().size());
  const uint8_t proto = static_cast<uint8_t>(v->protocol());
  if (proto == 58 && l4.size() >= kIcmpHeaderLen) {
    repair(l4, 2, iv.pseudo_header(IpProto::Icmpv6), false);
  } else if (proto == 17 && l4.size() >= kUdpHeaderLen) {
    size_t len = load_be16(l4, 4);
    if (len >= kUdpHeaderLen && len <= l4.size()) repair(l4.first(len), 6, iv.pseudo_header(IpProto::Udp), true);
  } else if (proto == 6 && l4.size() >= kTcpMinHeaderLen) {
    repair(l4, 16, iv.pseudo_header(IpProto::Tcp), false);
  }
}

// Recomputes every checksum the walk verifies, where the lengths allow it.
void repair_frame(std::vector<std::byte>& f) {
  std::span<std::byte> s(f);
  if (s.size() < kEthernetHeaderLen + kIpv4MinHeaderLen) return;
  if (load_be16(s, 12) == 0x86dd) return repair_ipv6(s.subspan(kEthernetHeaderLen));
  if (load_be16(s, 12) != 0x0800) return;
  std::span<std::byte> ip = s.subspan(kEthernetHeaderLen);
  size_t hl = size_t{load_u8(ip, 0) & 0x0fu} * 4;
  if (hl < kIpv4MinHeaderLen || hl > ip.size()) return;
  repair(ip.first(hl), 10, Checksum{}, false);
  size_t total = load_be16(ip, 2);
  if (total < hl || total > ip.size()) return;
  std::span<std::byte> l4 = ip.subspan(hl, total - hl);
  Ipv4Addr src{load_be32(ip, 12)}, dst{load_be32(ip, 16)};
  uint8_t proto = load_u8(ip, 9);
  auto seed = [&](IpProto p) {
    return ipv4_pseudo_header(src, dst, p, static_cast<uint16_t>(l4.size()));
  };
  if (proto == 1 && l4.size() >= kIcmpHeaderLen) {
    repair(l4, 2, Checksum{}, false);
  } else if (proto == 17 && l4.size() >= kUdpHeaderLen) {
    size_t len = load_be16(l4, 4);
    if (len >= kUdpHeaderLen && len <= l4.size()) repair(l4.first(len), 6, seed(IpProto::Udp), true);
  } else if (proto == 6 && l4.size() >= kTcpMinHeaderLen) {
    repair(l4, 16, seed(IpProto::Tcp), false);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const std::byte> in = std::as_bytes(std::span<const uint8_t>(data, size));
  walk_frame(in);
  std::vector<std::byte> fixed(in.begin(), in.end());
  repair_frame(fixed);
  // Walk an exact-size heap copy so ASan catches a read one past the end.
  walk_frame(fixed);
  return 0;
}
