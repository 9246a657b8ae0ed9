// IPv6 (extension-header walk), ICMPv6 and NDP views against captured
// frames (wire_frames6.h); the IPv6 emitters parsed back and compared byte
// for byte; every truncation rejected.
#include <gtest/gtest.h>

#include <vector>

#include "tap/wire/builder.h"
#include "tap/wire/bytes.h"
#include "tap/wire/ethernet.h"
#include "tap/wire/icmp.h"
#include "tap/wire/ip.h"
#include "tap/wire/ipv6.h"
#include "tap/wire/ndp.h"
#include "tap/wire/tcp.h"
#include "tap/wire/udp.h"
#include "wire_frames.h"
#include "wire_frames6.h"

namespace netd::wire {
namespace {

using testdata::bytes;
using testdata::vec;

constexpr size_t kIp = 14;
const MacAddr kGuestMac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
const MacAddr kPeerMac{{0x52, 0x55, 0x0a, 0x00, 0x02, 0x02}};
const Ipv6Addr kGuest = *Ipv6Addr::parse("fd00::64");
const Ipv6Addr kPeer = *Ipv6Addr::parse("fd00::2");
const Ipv6Addr kGuestLl = *Ipv6Addr::parse("fe80::5054:ff:fe12:3456");

Ipv6View ip6(std::span<const std::byte> frame) { return *Ipv6View::parse(frame.subspan(kIp)); }

TEST(WireIpv6, DecodesCapturedEchoRequest) {
  auto frame = bytes(testdata::kIcmpv6EchoRequestFrame);
  auto eth = EthernetView::parse(frame);
  ASSERT_TRUE(eth);
  EXPECT_TRUE(eth->ethertype() == EtherType::Ipv6);
  auto ip = Ipv6View::parse(eth->payload());
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->traffic_class(), 0);
  EXPECT_EQ(ip->flow_label(), 0xc800u);
  EXPECT_EQ(ip->payload_length(), 64);
  EXPECT_EQ(ip->next_header(), 58);
  EXPECT_EQ(ip->hop_limit(), 64);
  EXPECT_EQ(ip->src(), kGuest);
  EXPECT_EQ(ip->dst(), kPeer);
  EXPECT_EQ(ip->protocol(), IpProto::Icmpv6);
  EXPECT_EQ(ip->header_length(), 40u);
  EXPECT_FALSE(ip->is_fragment());
  EXPECT_EQ(ip->packet().size(), 104u);
  EXPECT_EQ(ip->payload().size(), 64u);
}

TEST(WireIpv6, WalksHopByHopHeaderOfCapturedMldReport) {
  auto ip = ip6(bytes(testdata::kMldReportFrame));
  EXPECT_EQ(ip.next_header(), 0);  // hop-by-hop first
  EXPECT_EQ(ip.protocol(), IpProto::Icmpv6);
  EXPECT_EQ(ip.header_length(), 48u);
  EXPECT_EQ(ip.payload().size(), 48u);
  EXPECT_TRUE(ip.src().is_unspecified());
  EXPECT_EQ(ip.dst(), *Ipv6Addr::parse("ff02::16"));
  // The checksum covers the upper layer only, with its own length.
  IpView v(ip);
  auto icmp = IcmpView::parse(ip.payload(), v.pseudo_header(IpProto::Icmpv6));
  ASSERT_TRUE(icmp);
  EXPECT_EQ(icmp->type(), 143);
}

TEST(WireIpv6, EveryTruncationRejected) {
  auto p = bytes(testdata::kMldReportFrame).subspan(kIp);
  for (size_t n = 0; n < p.size(); ++n) {
    auto r = Ipv6View::parse(p.first(n));
    ASSERT_FALSE(r) << n;
    EXPECT_EQ(r.error(), n < 40 ? WireError::Truncated : WireError::BadTotalLength) << n;
  }
}

TEST(WireIpv6, IgnoresEthernetPadding) {
  auto v = vec(bytes(testdata::kIcmpv6EchoRequestFrame).subspan(kIp));
  v.resize(v.size() + 6);
  auto ip = Ipv6View::parse(v);
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->packet().size(), 104u);
}

TEST(WireIpv6, RejectsBadVersion) {
  auto v = vec(bytes(testdata::kIcmpv6EchoRequestFrame).subspan(kIp));
  v[0] = std::byte{0x45};
  EXPECT_EQ(Ipv6View::parse(v).error(), WireError::BadVersion);
}

TEST(WireIpv6, RejectsIpv4MappedAddresses) {
  // ::ffff:a.b.c.d never appears on the wire; netd's IpAddr would read it as IPv4.
  for (size_t off : {8u + 10, 24u + 10}) {
    auto v = vec(bytes(testdata::kIcmpv6EchoRequestFrame).subspan(kIp));
    v[off] = v[off + 1] = std::byte{0xff};
    for (size_t i = off - 10; i < off; ++i) v[i] = std::byte{0};
    EXPECT_EQ(Ipv6View::parse(v).error(), WireError::Malformed) << off;
  }
}

// A packet whose fixed header says `first`, followed by `chain` (raw bytes).
std::vector<std::byte> with_chain(uint8_t first, std::vector<uint8_t> chain) {
  std::vector<std::byte> p(40);
  std::span<std::byte> s(p);
  store_be32(s, 0, 0x60000000);
  store_be16(s, 4, static_cast<uint16_t>(chain.size()));
  store_u8(s, 6, first);
  store_u8(s, 7, 64);
  for (uint8_t b : chain) p.push_back(std::byte{b});
  return p;
}

TEST(WireIpv6, ExtensionChainOfDestOptionsRoutingAndAtomicFragment) {
  // dest options (8) -> routing (16) -> fragment (atomic) -> UDP (8 bytes).
  auto p = with_chain(60, {43, 0, 1, 4, 0, 0, 0, 0,                          //
                           44, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  //
                           17, 0, 0, 0, 0, 0, 0, 7,                          //
                           0, 1, 0, 2, 0, 8, 0, 0});
  auto ip = Ipv6View::parse(p);
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->protocol(), IpProto::Udp);
  EXPECT_FALSE(ip->is_fragment());
  EXPECT_EQ(ip->header_length(), 40u + 32);
  EXPECT_EQ(ip->payload().size(), 8u);
}

TEST(WireIpv6, NonAtomicFragmentIsReported) {
  for (uint8_t lo : {0x01, 0x08}) {  // M flag; offset 1
    auto p = with_chain(44, {17, 0, 0, lo, 0, 0, 0, 1, 0, 1, 0, 2, 0, 8, 0, 0});
    auto ip = Ipv6View::parse(p);
    ASSERT_TRUE(ip);
    EXPECT_TRUE(ip->is_fragment());
    EXPECT_EQ(ip->protocol(), IpProto::Fragment);
  }
}

TEST(WireIpv6, BoundedWalk) {
  // Nine destination-options headers: one more than the walk allows.
  std::vector<uint8_t> chain;
  for (int i = 0; i < 9; ++i) chain.insert(chain.end(), {60, 0, 0, 0, 0, 0, 0, 0});
  EXPECT_EQ(Ipv6View::parse(with_chain(60, chain)).error(), WireError::Malformed);
  chain.resize(8 * 8);
  chain[7 * 8] = 59;  // eight, then No Next Header: fine
  auto ok = Ipv6View::parse(with_chain(60, chain));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->protocol(), IpProto::NoNext);
  // A header longer than the packet; hop-by-hop not first.
  EXPECT_EQ(Ipv6View::parse(with_chain(60, {17, 1, 0, 0, 0, 0, 0, 0})).error(), WireError::Truncated);
  EXPECT_EQ(Ipv6View::parse(with_chain(60, {0, 0, 0, 0, 0, 0, 0, 0, 17, 0, 0, 0, 0, 0, 0, 0})).error(),
            WireError::Malformed);
  EXPECT_EQ(Ipv6View::parse(with_chain(0, {17, 0, 0, 0})).error(), WireError::Truncated);
}

TEST(WireIcmpv6, ChecksumNeedsThePseudoHeader) {
  IpView ip(ip6(bytes(testdata::kIcmpv6EchoRequestFrame)));
  auto icmp = IcmpView::parse(ip.payload(), ip.pseudo_header(IpProto::Icmpv6));
  ASSERT_TRUE(icmp);
  EXPECT_EQ(icmp->type(), kIcmpv6EchoRequest);
  EXPECT_EQ(icmp->echo_id(), 0x42c6);
  EXPECT_EQ(icmp->echo_seq(), 0);
  EXPECT_EQ(icmp->payload().size(), 56u);
  // Without it (the ICMPv4 rule), the same bytes do not verify.
  EXPECT_EQ(IcmpView::parse(ip.payload()).error(), WireError::BadChecksum);
  EXPECT_TRUE(IcmpView::parse_unverified(ip.payload()));
  auto bad = vec(ip.payload());
  bad[10] ^= std::byte{1};
  EXPECT_EQ(IcmpView::parse(bad, ip.pseudo_header(IpProto::Icmpv6)).error(), WireError::BadChecksum);
}

TEST(WireIcmpv6, EchoReplyBuiltLikeTheCapturedOneParsesBack) {
  auto req = ip6(bytes(testdata::kIcmpv6EchoRequestFrame));
  auto rq = *IcmpView::parse_unverified(req.payload());
  IpHeader h{.src = kPeer, .dst = kGuest, .ttl = 64};
  auto f = build_ip_icmp({kPeerMac, kGuestMac}, h, kIcmpv6EchoReply, 0, rq.rest_of_header(), rq.payload());
  auto cap = bytes(testdata::kIcmpv6EchoReplyFrame);
  ASSERT_EQ(f.size(), cap.size());
  // Identical but for the flow label the peer kernel chose (bytes 15..17).
  auto mine = vec(f);
  auto theirs = vec(cap);
  for (size_t i = 15; i < 18; ++i) mine[i] = theirs[i];
  EXPECT_EQ(mine, theirs);
}

TEST(WireIcmpv6, QuoteOfCapturedPortUnreachable) {
  IpView ip(ip6(bytes(testdata::kIcmpv6PortUnreachFrame)));
  auto icmp = IcmpView::parse(ip.payload(), ip.pseudo_header(IpProto::Icmpv6));
  ASSERT_TRUE(icmp);
  EXPECT_EQ(icmp->type(), kIcmpv6DestUnreachable);
  EXPECT_EQ(icmp->code(), kIcmpv6PortUnreachable);
  // The peer quoted the whole datagram; icmp_error_quote cuts ours at 40 + 8.
  IpView udp(ip6(bytes(testdata::kUdp6Frame)));
  auto q = icmp_error_quote(udp);
  EXPECT_EQ(q.size(), 48u);
  // Same bytes but the UDP checksum, which the peer quoted as the guest sent
  // it (partial, see wire_frames6.h).
  EXPECT_EQ(vec(q.first(46)), vec(icmp->payload().first(46)));
}

TEST(WireUdp6, CapturedDatagramAndMandatoryChecksum) {
  IpView ip(ip6(bytes(testdata::kUdp6Frame)));
  auto udp = UdpView::parse(ip.payload(), ip.pseudo_header(IpProto::Udp), false);
  ASSERT_TRUE(udp);
  EXPECT_EQ(udp->src_port(), 40000);
  EXPECT_EQ(udp->dst_port(), 53);
  EXPECT_EQ(vec(udp->payload()), vec(testdata::str_bytes("hello netd")));
  auto zero = vec(ip.payload());
  zero[6] = zero[7] = std::byte{0};
  EXPECT_EQ(UdpView::parse(zero, ip.pseudo_header(IpProto::Udp), false).error(), WireError::BadChecksum);
  EXPECT_TRUE(UdpView::parse(zero, ip.pseudo_header(IpProto::Udp), true));  // the IPv4 rule
  // The emitter makes the same datagram (flow label aside).
  IpHeader h{.src = kGuest, .dst = kPeer};
  auto f = build_ip_udp({kGuestMac, kPeerMac}, h, 40000, 53, testdata::str_bytes("hello netd"));
  auto mine = vec(f);
  auto theirs = vec(bytes(testdata::kUdp6Frame));
  for (size_t i = 15; i < 18; ++i) mine[i] = theirs[i];
  EXPECT_EQ(mine, theirs);
  EXPECT_EQ(frame_overhead_udp(h), 14u + 40 + 8);
}

TEST(WireTcp6, CapturedSynAndRst) {
  IpView syn(ip6(bytes(testdata::kTcp6SynFrame)));
  auto t = TcpView::parse(syn.payload(), syn.pseudo_header(IpProto::Tcp));
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->syn());
  EXPECT_EQ(t->src_port(), 36026);
  EXPECT_EQ(t->dst_port(), 80);
  EXPECT_EQ(t->options().mss, 1440);
  IpView rst(ip6(bytes(testdata::kTcp6RstFrame)));
  auto r = TcpView::parse(rst.payload(), rst.pseudo_header(IpProto::Tcp));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->rst());
  EXPECT_EQ(r->ack(), t->seq() + 1);
  // Our RST for that SYN, as netd would send it, is the peer's (flow label aside).
  TcpSegmentSpec s{.sport = 80, .dport = 36026, .ack = t->seq() + 1, .flags = kTcpRst | kTcpAck};
  auto f = build_ip_tcp({kPeerMac, kGuestMac}, {.src = kPeer, .dst = kGuest}, s, {});
  auto mine = vec(f);
  auto theirs = vec(bytes(testdata::kTcp6RstFrame));
  ASSERT_EQ(mine.size(), theirs.size());
  for (size_t i = 15; i < 18; ++i) mine[i] = theirs[i];
  EXPECT_EQ(mine, theirs);
}

NdpView ndp(std::span<const std::byte> frame, Expected<IcmpView, WireError>* keep) {
  IpView ip(ip6(frame));
  *keep = IcmpView::parse(ip.payload(), ip.pseudo_header(IpProto::Icmpv6));
  EXPECT_TRUE(*keep);
  return *NdpView::parse(**keep);
}

TEST(WireNdp, CapturedSolicitations) {
  Expected<IcmpView, WireError> k = unexpected(WireError::Truncated);
  auto ns = ndp(bytes(testdata::kNdpNsFrame), &k);
  EXPECT_EQ(ns.type(), kNdpNeighborSolicitation);
  EXPECT_EQ(ns.target(), kPeer);
  EXPECT_EQ(ns.link_addr(kNdpOptSourceLinkAddr), kGuestMac);
  EXPECT_FALSE(ns.link_addr(kNdpOptTargetLinkAddr));
  EXPECT_EQ(ip6(bytes(testdata::kNdpNsFrame)).hop_limit(), 255);

  auto dad = ndp(bytes(testdata::kNdpDadNsFrame), &k);
  EXPECT_EQ(dad.target(), kGuestLl);
  EXPECT_FALSE(dad.link_addr(kNdpOptSourceLinkAddr));  // none from ::
  EXPECT_TRUE(ip6(bytes(testdata::kNdpDadNsFrame)).src().is_unspecified());

  auto rs = ndp(bytes(testdata::kNdpRsFrame), &k);
  EXPECT_EQ(rs.type(), kNdpRouterSolicitation);
  EXPECT_EQ(rs.link_addr(kNdpOptSourceLinkAddr), kGuestMac);
}

TEST(WireNdp, CapturedAdvertisementMatchesOurs) {
  Expected<IcmpView, WireError> k = unexpected(WireError::Truncated);
  auto na = ndp(bytes(testdata::kNdpNaFrame), &k);
  EXPECT_EQ(na.type(), kNdpNeighborAdvertisement);
  EXPECT_EQ(na.na_flags(), kNaSolicited | kNaOverride);
  EXPECT_EQ(na.target(), kPeer);
  EXPECT_EQ(na.link_addr(kNdpOptTargetLinkAddr), kPeerMac);
  // Byte for byte what the NDP responder emits for the same answer.
  NdpOptions o;
  o.link_addr(kNdpOptTargetLinkAddr, kPeerMac);
  std::vector<std::byte> body(16);
  store_ipv6(body, 0, kPeer);
  body.insert(body.end(), o.bytes().begin(), o.bytes().end());
  auto f = build_ip_icmp({kPeerMac, kGuestMac}, {.src = kPeer, .dst = kGuest, .ttl = 255},
                         kNdpNeighborAdvertisement, 0, kNaSolicited | kNaOverride, body);
  EXPECT_EQ(vec(f), vec(bytes(testdata::kNdpNaFrame)));
}

TEST(WireNdp, RouterAdvertisementOptionsRoundTrip) {
  NdpOptions o;
  o.link_addr(kNdpOptSourceLinkAddr, kPeerMac);
  o.mtu(65520);
  o.prefix_info({64, kPrefixOnLink | kPrefixAutonomous, 86400, 14400, *Ipv6Addr::parse("fd00::")});
  o.rdnss(600, *Ipv6Addr::parse("fd00::3"));
  std::vector<std::byte> body(8);  // reachable time, retrans timer: 0
  body.insert(body.end(), o.bytes().begin(), o.bytes().end());
  IpHeader h{.src = *Ipv6Addr::parse("fe80::2"), .dst = *Ipv6Addr::parse("ff02::1"), .ttl = 255};
  auto f = build_ip_icmp({kPeerMac, MacAddr{{0x33, 0x33, 0, 0, 0, 1}}}, h, kNdpRouterAdvertisement, 0,
                         (64u << 24) | (uint32_t{kRaOther} << 16) | 1800, body);
  Expected<IcmpView, WireError> k = unexpected(WireError::Truncated);
  auto ra = ndp(f, &k);
  EXPECT_EQ(ra.cur_hop_limit(), 64);
  EXPECT_EQ(ra.ra_flags(), kRaOther);
  EXPECT_EQ(ra.router_lifetime(), 1800);
  EXPECT_EQ(ra.reachable_time(), 0u);
  EXPECT_EQ(ra.link_addr(kNdpOptSourceLinkAddr), kPeerMac);
  EXPECT_EQ(ra.mtu(), 65520u);
  auto pi = ra.prefix_info();
  ASSERT_TRUE(pi);
  EXPECT_EQ(pi->prefix_len, 64);
  EXPECT_EQ(pi->flags, kPrefixOnLink | kPrefixAutonomous);
  EXPECT_EQ(pi->valid_lifetime, 86400u);
  EXPECT_EQ(pi->preferred_lifetime, 14400u);
  EXPECT_EQ(pi->prefix, *Ipv6Addr::parse("fd00::"));
  auto rd = ra.rdnss();
  ASSERT_TRUE(rd);
  EXPECT_EQ(rd->first, 600u);
  EXPECT_EQ(rd->second, *Ipv6Addr::parse("fd00::3"));
  EXPECT_EQ(o.bytes().size(), 8u + 8 + 32 + 24);
}

TEST(WireNdp, RejectsBadOptionsAndShortMessages) {
  auto msg = vec(ip6(bytes(testdata::kNdpNsFrame)).payload());  // 32 bytes: 24 fixed + SLLA
  auto parse = [](std::span<const std::byte> m) { return NdpView::parse(*IcmpView::parse_unverified(m)); };
  ASSERT_TRUE(parse(msg));
  for (size_t n = 8; n < 24; ++n) EXPECT_EQ(parse(std::span(msg).first(n)).error(), WireError::Truncated) << n;
  for (size_t n = 25; n < 32; ++n) EXPECT_EQ(parse(std::span(msg).first(n)).error(), WireError::Malformed) << n;
  auto zero_len = msg;
  zero_len[25] = std::byte{0};  // an option of length 0 would loop forever
  EXPECT_EQ(parse(zero_len).error(), WireError::Malformed);
  auto long_opt = msg;
  long_opt[25] = std::byte{2};
  EXPECT_EQ(parse(long_opt).error(), WireError::Malformed);
  auto code = msg;
  code[1] = std::byte{1};
  EXPECT_EQ(parse(code).error(), WireError::Malformed);
  auto echo = msg;
  echo[0] = std::byte{kIcmpv6EchoRequest};
  EXPECT_EQ(parse(echo).error(), WireError::Unsupported);
}

}  // namespace
}  // namespace netd::wire
