// The Stack's IPv6 side, driven with the captured frames of wire_frames6.h
// (the guest there is fd00::64 / fe80::5054:ff:fe12:3456 and talks to
// fd00::2, which is netd's gateway in the default fd00::/64) and built ones:
// NDP answers, router advertisements, stateless DHCPv6, ICMPv6 echo, and the
// shared UDP/TCP engines opening IPv6 sockets. No sockets, no clock.
#include <gtest/gtest.h>

#include <cerrno>

#include "tap/stack.h"
#include "tap/wire/builder.h"
#include "tap/wire/dhcpv6.h"
#include "tap/wire/ethernet.h"
#include "tap/wire/icmp.h"
#include "tap/wire/ip.h"
#include "tap/wire/ipv6.h"
#include "tap/wire/ndp.h"
#include "tap/wire/tcp.h"
#include "tap/wire/udp.h"
#include "unit/tap/wire_frames.h"
#include "unit/tap/wire_frames6.h"

namespace netd::tap {
namespace {

using wire::Ipv6Addr;
using wire::MacAddr;
namespace td = wire::testdata;

const MacAddr kGuestMac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
const Ipv6Addr kGuest = *Ipv6Addr::parse("fd00::64");
const Ipv6Addr kGuestLl = *Ipv6Addr::parse("fe80::5054:ff:fe12:3456");
const Ipv6Addr kGateway = *Ipv6Addr::parse("fd00::2");
const Ipv6Addr kDns = *Ipv6Addr::parse("fd00::3");
const Ipv6Addr kRouterLl = *Ipv6Addr::parse("fe80::2");
const Ipv6Addr kAllNodes = *Ipv6Addr::parse("ff02::1");
const Ipv6Addr kWorld = *Ipv6Addr::parse("2001:db8::10");

// A parsed frame netd sent: Ethernet, IPv6, and the ICMPv6 or UDP inside.
struct Out6 {
  MacAddr eth_dst;
  wire::Ipv6View ip;
};
Out6 parse6(const Frame& f) {
  auto eth = wire::EthernetView::parse(f);
  EXPECT_TRUE(eth);
  auto ip = wire::Ipv6View::parse(eth->payload());
  EXPECT_TRUE(ip);
  return {eth->dst(), *ip};
}
wire::IcmpView icmp6_of(const wire::Ipv6View& ip) {
  auto icmp = wire::IcmpView::parse(ip.payload(), wire::IpView(ip).pseudo_header(wire::IpProto::Icmpv6));
  EXPECT_TRUE(icmp) << "ICMPv6 checksum";
  return *icmp;
}

class Stack6Test : public ::testing::Test {
 protected:
  Stack6Test() : stack_(*StackConfig::from_cidr("10.0.2.0/24")) {}
  void feed(std::span<const std::byte> f) { stack_.on_frame(now_, f, out_); }
  // A captured frame from the guest, re-addressed to netd's MAC (the capture's
  // peer had another); nothing else changes, so checksums still hold.
  void feed_to_netd(std::span<const std::byte> f) {
    std::vector<std::byte> v(f.begin(), f.end());
    wire::store_mac(v, 0, stack_.config().gateway_mac);
    feed(v);
  }
  wire::L2Addrs from_guest() const { return {kGuestMac, stack_.config().gateway_mac}; }

  Time now_{seconds(1000)};
  Stack stack_;
  Actions out_;
};

// ---- Configuration ----------------------------------------------------------

TEST(StackConfig6, DefaultsLikeSlirp4netnsAndCheckedPrefix) {
  auto c = *StackConfig::from_cidr("10.0.2.0/24");
  EXPECT_TRUE(c.ipv6);
  EXPECT_EQ(c.cidr6.to_string(), "fd00::/64");
  EXPECT_EQ(c.gateway6, kGateway);
  EXPECT_EQ(c.dns6, kDns);
  ASSERT_TRUE(c.set_cidr6("fd42:0:0:7::/64"));
  EXPECT_EQ(c.gateway6, *Ipv6Addr::parse("fd42:0:0:7::2"));
  EXPECT_EQ(c.dns6, *Ipv6Addr::parse("fd42:0:0:7::3"));
  for (const char* bad : {"fd00::/48", "fd00::1/64", "fe80::/64", "ff02::/64", "::/64", "10.0.2.0/24", "x"}) {
    auto r = c.set_cidr6(bad);
    EXPECT_FALSE(r) << bad;
  }
  EXPECT_EQ(c.gateway6, *Ipv6Addr::parse("fd42:0:0:7::2"));  // unchanged by the failures
  EXPECT_TRUE(c.set_dns_search({"example.com", "corp.example"}));
  EXPECT_FALSE(c.set_dns_search({"bad..name"}));
  EXPECT_FALSE(c.set_dns_search({std::string(64, 'a') + ".com"}));
}

// ---- NDP --------------------------------------------------------------------

TEST_F(Stack6Test, CapturedSolicitationForGatewayGetsSolicitedAdvertisement) {
  feed(td::bytes(td::kNdpNsFrame));  // fd00::64 asks for fd00::2 via ff02::1:ff00:2
  ASSERT_EQ(out_.to_tap.size(), 1u);
  auto o = parse6(out_.to_tap[0]);
  EXPECT_EQ(o.eth_dst, kGuestMac);
  EXPECT_EQ(o.ip.src(), kGateway);
  EXPECT_EQ(o.ip.dst(), kGuest);
  EXPECT_EQ(o.ip.hop_limit(), 255);
  auto icmp = icmp6_of(o.ip);
  auto na = wire::NdpView::parse(icmp);
  ASSERT_TRUE(na);
  EXPECT_EQ(na->type(), wire::kNdpNeighborAdvertisement);
  EXPECT_EQ(na->target(), kGateway);
  EXPECT_EQ(na->na_flags(), wire::kNaRouter | wire::kNaSolicited | wire::kNaOverride);
  EXPECT_EQ(na->link_addr(wire::kNdpOptTargetLinkAddr), stack_.config().gateway_mac);
  EXPECT_EQ(stack_.counters().ndp_advertisements, 1u);
}

TEST_F(Stack6Test, GuestDadIsNeverAnswered) {
  feed(td::bytes(td::kNdpDadNsFrame));  // the guest checks its own link-local address
  EXPECT_TRUE(out_.to_tap.empty());
  // Nor DAD for a SLAAC address in the prefix.
  std::vector<std::byte> body(16);
  wire::store_ipv6(body, 0, *Ipv6Addr::parse("fd00::5054:ff:fe12:3456"));
  wire::IpHeader h{.src = Ipv6Addr{}, .dst = Ipv6Addr::parse("fd00::5054:ff:fe12:3456")->solicited_node(),
                   .ttl = 255};
  feed(wire::build_ip_icmp({kGuestMac, wire::multicast_mac(h.dst.v6())}, h, wire::kNdpNeighborSolicitation, 0, 0,
                           body));
  EXPECT_TRUE(out_.to_tap.empty());
}

TEST_F(Stack6Test, DadForAnAddressNetdOwnsIsDefendedToAllNodes) {
  std::vector<std::byte> body(16);
  wire::store_ipv6(body, 0, kDns);
  wire::IpHeader h{.src = Ipv6Addr{}, .dst = kDns.solicited_node(), .ttl = 255};
  feed(wire::build_ip_icmp({kGuestMac, wire::multicast_mac(kDns.solicited_node())}, h,
                           wire::kNdpNeighborSolicitation, 0, 0, body));
  ASSERT_EQ(out_.to_tap.size(), 1u);
  auto o = parse6(out_.to_tap[0]);
  EXPECT_EQ(o.ip.dst(), kAllNodes);
  EXPECT_EQ(o.eth_dst, wire::multicast_mac(kAllNodes));
  auto na = wire::NdpView::parse(icmp6_of(o.ip));
  ASSERT_TRUE(na);
  EXPECT_EQ(na->target(), kDns);
  EXPECT_EQ(na->na_flags() & wire::kNaSolicited, 0u);
}

TEST_F(Stack6Test, NdpWithHopLimitBelow255IsDropped) {
  auto v = td::vec(td::bytes(td::kNdpNsFrame));
  v[14 + 7] = std::byte{64};  // hop limit: not in the ICMPv6 checksum
  feed(v);
  EXPECT_TRUE(out_.to_tap.empty());
  EXPECT_EQ(stack_.counters().drop_malformed, 1u);
}

TEST_F(Stack6Test, CapturedRouterSolicitationGetsFullAdvertisement) {
  feed(td::bytes(td::kNdpRsFrame));
  ASSERT_EQ(out_.to_tap.size(), 1u);
  auto o = parse6(out_.to_tap[0]);
  EXPECT_EQ(o.eth_dst, kGuestMac);
  EXPECT_EQ(o.ip.src(), kRouterLl);  // RAs come from a link-local address
  EXPECT_EQ(o.ip.dst(), kGuestLl);
  EXPECT_EQ(o.ip.hop_limit(), 255);
  auto ra = wire::NdpView::parse(icmp6_of(o.ip));
  ASSERT_TRUE(ra);
  EXPECT_EQ(ra->type(), wire::kNdpRouterAdvertisement);
  EXPECT_EQ(ra->router_lifetime(), NdpResponder::kRouterLifetime);
  EXPECT_EQ(ra->ra_flags(), wire::kRaOther);
  EXPECT_EQ(ra->link_addr(wire::kNdpOptSourceLinkAddr), stack_.config().gateway_mac);
  EXPECT_EQ(ra->mtu(), stack_.config().mtu);
  auto pi = ra->prefix_info();
  ASSERT_TRUE(pi);
  EXPECT_EQ(pi->prefix, *Ipv6Addr::parse("fd00::"));
  EXPECT_EQ(pi->prefix_len, 64);
  EXPECT_EQ(pi->flags, wire::kPrefixOnLink | wire::kPrefixAutonomous);
  auto rdnss = ra->rdnss();
  ASSERT_TRUE(rdnss);
  EXPECT_EQ(rdnss->second, kDns);
}

TEST_F(Stack6Test, UnsolicitedAdvertisementsOnlyOnceTheGuestSpokeIpv6) {
  EXPECT_FALSE(stack_.next_deadline());  // an IPv4-only guest hears none
  feed(td::bytes(td::kMldReportFrame));  // the guest's link came up
  EXPECT_EQ(stack_.counters().drop_not_for_us, 1u);  // nobody takes MLD
  auto d = stack_.next_deadline();
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, now_ + NdpResponder::kRaInterval);
  stack_.on_timer(*d, out_);
  ASSERT_EQ(out_.to_tap.size(), 1u);
  auto o = parse6(out_.to_tap[0]);
  EXPECT_EQ(o.ip.dst(), kAllNodes);
  EXPECT_EQ(o.eth_dst, wire::multicast_mac(kAllNodes));
  EXPECT_EQ(stack_.next_deadline(), *d + NdpResponder::kRaInterval);
}

TEST_F(Stack6Test, Ipv6OffDropsEverything) {
  auto cfg = *StackConfig::from_cidr("10.0.2.0/24");
  cfg.ipv6 = false;
  Stack s(cfg);
  s.on_frame(now_, td::bytes(td::kNdpRsFrame), out_);
  s.on_frame(now_, td::bytes(td::kNdpNsFrame), out_);
  EXPECT_TRUE(out_.to_tap.empty());
  EXPECT_EQ(s.counters().drop_unsupported, 2u);
}

// ---- DHCPv6 -------------------------------------------------------------------

TEST_F(Stack6Test, InformationRequestGetsDnsAndSearchList) {
  auto cfg = *StackConfig::from_cidr("10.0.2.0/24");
  ASSERT_TRUE(cfg.set_dns_search({"example.com"}));
  Stack s(cfg);
  const uint8_t req[] = {0x0b, 0x12, 0x34, 0x56, 0x00, 0x01, 0x00, 0x0a, 0x00, 0x03, 0x00, 0x01,
                         0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x00, 0x06, 0x00, 0x02, 0x00, 0x17};
  wire::IpHeader h{.src = kGuestLl, .dst = *Ipv6Addr::parse("ff02::1:2"), .ttl = 1};
  s.on_frame(now_, wire::build_ip_udp({kGuestMac, wire::multicast_mac(h.dst.v6())}, h, 546, 547, td::bytes(req)),
             out_);
  ASSERT_EQ(out_.to_tap.size(), 1u);
  auto o = parse6(out_.to_tap[0]);
  EXPECT_EQ(o.ip.src(), kRouterLl);
  EXPECT_EQ(o.ip.dst(), kGuestLl);
  auto udp = wire::UdpView::parse(o.ip.payload(), wire::IpView(o.ip).pseudo_header(wire::IpProto::Udp), false);
  ASSERT_TRUE(udp);
  EXPECT_EQ(udp->src_port(), 547);
  EXPECT_EQ(udp->dst_port(), 546);
  auto m = wire::Dhcpv6View::parse(udp->payload());
  ASSERT_TRUE(m);
  EXPECT_EQ(m->msg_type(), wire::kDhcpv6Reply);
  EXPECT_EQ(m->transaction_id(), 0x123456u);
  EXPECT_EQ(td::vec(*m->option(wire::kDhcpv6OptClientId)), td::vec(td::bytes(req).subspan(8, 10)));
  auto sid = m->option(wire::kDhcpv6OptServerId);
  ASSERT_TRUE(sid);
  EXPECT_EQ(sid->size(), 10u);
  auto dns = m->option(wire::kDhcpv6OptDnsServers);
  ASSERT_TRUE(dns);
  EXPECT_EQ(wire::load_ipv6(*dns, 0), kDns);
  const uint8_t search[] = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0};
  EXPECT_EQ(td::vec(*m->option(wire::kDhcpv6OptDomainList)), td::vec(td::bytes(search)));
  EXPECT_EQ(s.counters().dhcpv6_replies, 1u);
}

TEST_F(Stack6Test, SolicitIsIgnored) {
  const uint8_t sol[] = {0x01, 0x12, 0x34, 0x56};
  wire::IpHeader h{.src = kGuestLl, .dst = *Ipv6Addr::parse("ff02::1:2"), .ttl = 1};
  feed(wire::build_ip_udp({kGuestMac, wire::multicast_mac(h.dst.v6())}, h, 546, 547, td::bytes(sol)));
  EXPECT_TRUE(out_.to_tap.empty());
  EXPECT_EQ(stack_.counters().dhcpv6_ignored, 1u);
}

// ---- ICMPv6 echo, UDP, TCP through the shared engines ----------------------

TEST_F(Stack6Test, CapturedEchoToGatewayIsAnsweredLocally) {
  feed_to_netd(td::bytes(td::kIcmpv6EchoRequestFrame));
  ASSERT_EQ(out_.to_tap.size(), 1u);
  auto o = parse6(out_.to_tap[0]);
  EXPECT_EQ(o.ip.src(), kGateway);
  EXPECT_EQ(o.ip.dst(), kGuest);
  auto icmp = icmp6_of(o.ip);
  EXPECT_EQ(icmp.type(), wire::kIcmpv6EchoReply);
  EXPECT_EQ(icmp.echo_id(), 0x42c6);
  EXPECT_EQ(icmp.payload().size(), 56u);
  EXPECT_TRUE(out_.to_host.empty());
}

TEST_F(Stack6Test, EchoToTheWorldUsesAnIcmpv6PingSocket) {
  wire::IpHeader h{.src = kGuest, .dst = kWorld};
  feed(wire::build_ip_icmp(from_guest(), h, wire::kIcmpv6EchoRequest, 0, (7u << 16) | 1,
                           td::str_bytes("hi")));
  ASSERT_EQ(out_.to_host.size(), 2u);
  auto& open = std::get<OpenSocket>(out_.to_host[0]);
  EXPECT_EQ(open.kind, SocketKind::Ping);
  EXPECT_EQ(open.dst, wire::IpAddr(kWorld));
  // The host has no IPv6 route: the guest hears "no route" quoting its echo.
  FlowId flow = open.flow;
  out_.clear();
  stack_.on_socket_error(now_, SocketKind::Ping, flow, ENETUNREACH, out_);
  ASSERT_EQ(out_.to_tap.size(), 1u);
  auto o = parse6(out_.to_tap[0]);
  auto icmp = icmp6_of(o.ip);
  EXPECT_EQ(icmp.type(), wire::kIcmpv6DestUnreachable);
  EXPECT_EQ(icmp.code(), wire::kIcmpv6NoRoute);
  // The quote is the IPv6 header and 8 bytes of the echo (cut, so its
  // payload length no longer matches: read the header fields directly).
  ASSERT_EQ(icmp.payload().size(), 48u);
  EXPECT_EQ(wire::load_ipv6(icmp.payload(), 24), kWorld);
}

TEST_F(Stack6Test, CapturedUdpToGatewayGoesToHostLoopback) {
  feed_to_netd(td::bytes(td::kUdp6Frame));
  ASSERT_EQ(out_.to_host.size(), 2u);
  auto& open = std::get<OpenSocket>(out_.to_host[0]);
  EXPECT_EQ(open.kind, SocketKind::Udp);
  EXPECT_EQ(open.dst, wire::IpAddr(Ipv6Addr::loopback()));
  EXPECT_EQ(open.port, 53);
  FlowId flow = open.flow;
  out_.clear();
  stack_.on_socket_data(now_, SocketKind::Udp, flow, td::str_bytes("pong"), out_);
  ASSERT_EQ(out_.to_tap.size(), 1u);
  auto o = parse6(out_.to_tap[0]);
  EXPECT_EQ(o.ip.src(), kGateway);
  EXPECT_EQ(o.ip.dst(), kGuest);
  auto udp = wire::UdpView::parse(o.ip.payload(), wire::IpView(o.ip).pseudo_header(wire::IpProto::Udp), false);
  ASSERT_TRUE(udp);
  EXPECT_EQ(udp->src_port(), 53);
  EXPECT_EQ(udp->dst_port(), 40000);
  // Refused on the host: ICMPv6 port unreachable quoting the datagram.
  out_.clear();
  stack_.on_socket_error(now_, SocketKind::Udp, flow, ECONNREFUSED, out_);
  ASSERT_EQ(out_.to_tap.size(), 1u);
  auto err = icmp6_of(parse6(out_.to_tap[0]).ip);
  EXPECT_EQ(err.type(), wire::kIcmpv6DestUnreachable);
  EXPECT_EQ(err.code(), wire::kIcmpv6PortUnreachable);
  EXPECT_EQ(err.payload().size(), 48u);
}

TEST_F(Stack6Test, UdpWithZeroChecksumIsDropped) {
  auto v = td::vec(td::bytes(td::kUdp6Frame));
  wire::store_mac(v, 0, stack_.config().gateway_mac);
  v[14 + 40 + 6] = v[14 + 40 + 7] = std::byte{0};
  feed(v);
  EXPECT_TRUE(out_.to_host.empty());
  EXPECT_EQ(stack_.counters().drop_bad_checksum, 1u);
}

TEST_F(Stack6Test, DnsQueryToTheIpv6DnsAddressIsRelayed) {
  const uint8_t q[] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 1};
  wire::IpHeader h{.src = kGuest, .dst = kDns};
  feed(wire::build_ip_udp(from_guest(), h, 5353, 53, td::bytes(q)));
  ASSERT_EQ(out_.to_host.size(), 1u);
  auto& fwd = std::get<ForwardDns>(out_.to_host[0]);
  out_.clear();
  std::vector<std::byte> reply(td::bytes(q).begin(), td::bytes(q).end());
  reply[2] = std::byte{0x81};
  stack_.on_dns_reply(now_, fwd.token, reply, out_);
  ASSERT_EQ(out_.to_tap.size(), 1u);
  auto o = parse6(out_.to_tap[0]);
  EXPECT_EQ(o.ip.src(), kDns);
  EXPECT_EQ(o.ip.dst(), kGuest);
}

TEST_F(Stack6Test, CapturedTcpSynConnectsToHostLoopbackAndSynAckIsIpv6) {
  feed_to_netd(td::bytes(td::kTcp6SynFrame));
  ASSERT_EQ(out_.to_host.size(), 1u);
  auto& c = std::get<TcpConnect>(out_.to_host[0]);
  EXPECT_EQ(c.dst, wire::IpAddr(Ipv6Addr::loopback()));
  EXPECT_EQ(c.port, 80);
  FlowId flow = c.flow;
  out_.clear();
  stack_.on_tcp_connected(now_, flow, 0, out_);
  ASSERT_GE(out_.to_tap.size(), 1u);
  auto o = parse6(out_.to_tap[0]);
  EXPECT_EQ(o.ip.src(), kGateway);
  auto tcp = wire::TcpView::parse(o.ip.payload(), wire::IpView(o.ip).pseudo_header(wire::IpProto::Tcp));
  ASSERT_TRUE(tcp);
  EXPECT_TRUE(tcp->syn() && tcp->ack_flag());
  EXPECT_EQ(tcp->dst_port(), 36026);
  // The tap's MTU less 40 (IPv6) + 20 (TCP).
  EXPECT_EQ(tcp->options().mss, stack_.config().mtu - 60);
}

TEST_F(Stack6Test, TcpToAWorldHostWithoutIpv6RouteGetsIcmpv6NoRoute) {
  wire::TcpSegmentSpec s{.sport = 40000, .dport = 80, .seq = wire::SeqNum(1), .flags = wire::kTcpSyn,
                         .window = 65535, .mss = 1440};
  feed(wire::build_ip_tcp(from_guest(), {.src = kGuest, .dst = kWorld}, s, {}));
  auto& c = std::get<TcpConnect>(out_.to_host.at(0));
  EXPECT_EQ(c.dst, wire::IpAddr(kWorld));
  FlowId flow = c.flow;
  out_.clear();
  stack_.on_tcp_connected(now_, flow, -ENETUNREACH, out_);
  ASSERT_EQ(out_.to_tap.size(), 1u);
  auto icmp = icmp6_of(parse6(out_.to_tap[0]).ip);
  EXPECT_EQ(icmp.type(), wire::kIcmpv6DestUnreachable);
  EXPECT_EQ(icmp.code(), wire::kIcmpv6NoRoute);
  EXPECT_EQ(stack_.tcp_conns(), 0u);
}

// ---- Published ports: IPv6 clients --------------------------------------------

TEST_F(Stack6Test, Ipv6ClientOfAPublishedPortReachesTheGuestOverIpv6) {
  // Before netd knows the guest's IPv6 address: over IPv4, from the gateway.
  auto v4 = stack_.on_tcp_inbound(now_, kWorld, 50000, 8080, out_);
  ASSERT_TRUE(v4);
  EXPECT_FALSE(wire::Ipv6View::parse(wire::EthernetView::parse(out_.to_tap.back())->payload()));
  out_.clear();
  // The guest's DAD for its SLAAC address tells netd the address.
  const Ipv6Addr slaac = *Ipv6Addr::parse("fd00::5054:ff:fe12:3456");
  std::vector<std::byte> body(16);
  wire::store_ipv6(body, 0, slaac);
  wire::IpHeader h{.src = Ipv6Addr{}, .dst = slaac.solicited_node(), .ttl = 255};
  feed(wire::build_ip_icmp({kGuestMac, wire::multicast_mac(slaac.solicited_node())}, h,
                           wire::kNdpNeighborSolicitation, 0, 0, body));
  EXPECT_TRUE(out_.to_tap.empty());  // and gets no answer
  for (auto [client, seen] : {std::pair{kWorld, kWorld}, std::pair{Ipv6Addr::loopback(), kGateway}}) {
    out_.clear();
    auto flow = stack_.on_tcp_inbound(now_, client, 50001, 8080, out_);
    ASSERT_TRUE(flow);
    ASSERT_EQ(out_.to_tap.size(), 1u);
    auto o = parse6(out_.to_tap[0]);
    EXPECT_EQ(o.ip.src(), seen);
    EXPECT_EQ(o.ip.dst(), slaac);
    auto tcp = wire::TcpView::parse(o.ip.payload(), wire::IpView(o.ip).pseudo_header(wire::IpProto::Tcp));
    ASSERT_TRUE(tcp);
    EXPECT_TRUE(tcp->syn() && !tcp->ack_flag());
    EXPECT_EQ(tcp->dst_port(), 8080);
  }
}

TEST_F(Stack6Test, PolicyDropsLinkLocalAndOwnPrefix) {
  for (const char* d : {"fe80::99", "fd00::99", "::1"}) {
    wire::IpHeader h{.src = kGuest, .dst = *Ipv6Addr::parse(d)};
    feed(wire::build_ip_udp(from_guest(), h, 1, 2, td::str_bytes("x")));
  }
  EXPECT_TRUE(out_.to_host.empty());
  EXPECT_EQ(stack_.counters().drop_policy, 3u);
}

TEST_F(Stack6Test, EveryTruncationOfEveryCaptureIsHandled) {
  const std::pair<const uint8_t*, size_t> frames[] = {
      {td::kNdpRsFrame, sizeof td::kNdpRsFrame},
      {td::kNdpNsFrame, sizeof td::kNdpNsFrame},
      {td::kMldReportFrame, sizeof td::kMldReportFrame},
      {td::kUdp6Frame, sizeof td::kUdp6Frame},
      {td::kTcp6SynFrame, sizeof td::kTcp6SynFrame},
  };
  for (auto [p, n] : frames) {
    for (size_t len = 0; len + 1 < n; ++len) feed(std::span(reinterpret_cast<const std::byte*>(p), len));
  }
  EXPECT_TRUE(out_.to_tap.empty());
  EXPECT_TRUE(out_.to_host.empty());
}

}  // namespace
}  // namespace netd::tap
