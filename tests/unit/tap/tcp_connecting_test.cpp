// TCP engine, Connecting: the guest's SYN was seen, the host connect() is in
// flight (tests/unit/tap/tcp_harness.h plays both ends).

#include "unit/tap/tcp_harness.h"

namespace netd::tap {
namespace tcp_test {
namespace {

TEST_F(TcpConnecting, SynStartsAHostConnectAndNoSynAckYet) {
  syn();
  EXPECT_TRUE(out.to_tap.empty()) << "no SYN-ACK before the host socket is connected";
  ASSERT_EQ(out.to_host.size(), 1u);
  auto c = ops<TcpConnect>();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].dst, kWorld);
  EXPECT_EQ(c[0].port, kServerPort);
  EXPECT_EQ(state(), TcpState::Connecting);
  EXPECT_EQ(conns(), 1u);
  EXPECT_EQ(counters().tcp_conns_opened, 1u);
}

TEST_F(TcpConnecting, SynToTheGatewayConnectsToHostLoopback) {
  dst = kGateway;
  syn();
  auto c = ops<TcpConnect>();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].dst, Ipv4Addr::from_octets(127, 0, 0, 1));
  EXPECT_EQ(c[0].port, kServerPort);
}

TEST_F(TcpConnecting, SynToTheDnsPort53ConnectsToTheFirstUpstream) {
  auto cfg = test_config();
  cfg.dns_tcp_upstream = wire::IpAddr(Ipv4Addr::from_octets(198, 51, 100, 53));
  cfg.dns_tcp_upstream_port = 5353;
  TcpHarness h(cfg);
  h.dst = cfg.dns;
  h.dport = 53;
  h.syn();
  auto c = h.ops<TcpConnect>();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].dst, Ipv4Addr::from_octets(198, 51, 100, 53));
  EXPECT_EQ(c[0].port, 5353);
  EXPECT_EQ(h.state(), TcpState::Connecting) << "the guest's view stays 10.0.2.3:53";
}

TEST_F(TcpConnecting, SynToTheDnsAddressOtherPortsOrWithoutUpstreamIsRefused) {
  auto with = test_config();
  with.dns_tcp_upstream = wire::IpAddr(Ipv4Addr::from_octets(198, 51, 100, 53));
  struct Case {
    StackConfig cfg;
    uint16_t port;
  };
  for (const Case& k : {Case{with, 80}, Case{test_config(), 53}}) {
    TcpHarness h(k.cfg);
    h.dst = k.cfg.dns;
    h.dport = k.port;
    h.syn();
    auto r = h.only_seg();
    ASSERT_TRUE(r) << k.port;
    EXPECT_EQ(r->flags, kRst | kAck);
    EXPECT_EQ(h.count<TcpConnect>(), 0u);
    EXPECT_EQ(h.counters().drop_policy, 1u);
  }
}

TEST_F(TcpConnecting, DuplicateSynIsIgnored) {
  syn();
  syn();
  EXPECT_TRUE(out.to_tap.empty());
  EXPECT_TRUE(out.to_host.empty()) << "no second TcpConnect";
  EXPECT_EQ(state(), TcpState::Connecting);
  EXPECT_EQ(conns(), 1u);
}

TEST_F(TcpConnecting, SegmentsBeforeTheSynAckAreIgnored) {
  syn();
  g_ack = 12345;
  data("too early");
  EXPECT_TRUE(out.to_tap.empty());
  EXPECT_TRUE(out.to_host.empty());
  connected();
  auto sa = only_seg();
  ASSERT_TRUE(sa);
  EXPECT_EQ(sa->ack, isn + 1) << "the early data was not accepted";
}

TEST_F(TcpConnecting, ConnectSuccessSendsSynAckWithMssAndNoWindowScale) {
  syn({.mss = 1460, .wscale = std::nullopt});
  connected();
  auto sa = only_seg();
  ASSERT_TRUE(sa);
  EXPECT_EQ(sa->flags, kSyn | kAck);
  EXPECT_EQ(sa->ack, isn + 1);
  EXPECT_EQ(sa->src, kWorld);
  EXPECT_EQ(sa->dst, kGuest);
  EXPECT_EQ(sa->eth_dst, kGuestMac);
  EXPECT_EQ(sa->sport, kServerPort);
  EXPECT_EQ(sa->dport, kGuestPort);
  ASSERT_TRUE(sa->opts.mss.has_value());
  EXPECT_EQ(*sa->opts.mss, stack.config().mtu - 40);
  EXPECT_FALSE(sa->opts.window_scale.has_value()) << "window scaling only if the guest offered it";
  EXPECT_GT(sa->window, 0);
  EXPECT_EQ(state(), TcpState::SynReceived);
  EXPECT_EQ(count<TcpPoll>(), 1u) << "the peer may speak first: wait for readability";
  EXPECT_EQ(count<TcpRecv>(), 0u) << "an idle connection holds no receive buffer";
}

TEST_F(TcpConnecting, ConnectSuccessOffersWindowScaleWhenTheGuestDid) {
  syn({.mss = 1460, .wscale = 6});
  connected();
  auto sa = only_seg();
  ASSERT_TRUE(sa);
  ASSERT_TRUE(sa->opts.window_scale.has_value());
  EXPECT_LE(*sa->opts.window_scale, 14);
}

TEST_F(TcpConnecting, SynAckMssFollowsTheTapMtu) {
  for (uint32_t mtu : {1500u, 9000u}) {
    TcpHarness h(test_config(mtu));
    h.syn({.mss = 65000});
    h.connected();
    auto sa = h.only_seg();
    ASSERT_TRUE(sa);
    ASSERT_TRUE(sa->opts.mss.has_value());
    EXPECT_EQ(*sa->opts.mss, mtu - 40) << "mtu " << mtu;
  }
}

TEST_F(TcpConnecting, ConnectRefusedSendsRstAck) {
  syn();
  connected(-ECONNREFUSED);
  auto r = only_seg();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->has(kRst | kAck));
  EXPECT_FALSE(r->has(kSyn));
  EXPECT_EQ(r->ack, isn + 1) << "the guest in SYN-SENT accepts a RST only if it acknowledges its SYN";
  EXPECT_EQ(r->sport, kServerPort);
  EXPECT_EQ(r->dport, kGuestPort);
  ASSERT_EQ(count<CloseSocket>(), 1u);
  EXPECT_FALSE(state().has_value());
  EXPECT_EQ(conns(), 0u);
  EXPECT_EQ(counters().tcp_connect_failed, 1u);
}

TEST_F(TcpConnecting, HostUnreachableSendsIcmpHostUnreachableQuotingTheSyn) {
  for (auto [err, code] : {std::pair{EHOSTUNREACH, wire::kIcmpHostUnreachable},
                           std::pair{ENETUNREACH, wire::kIcmpNetUnreachable}}) {
    TcpHarness h;
    h.syn();
    const Frame syn_frame = h.last_frame;
    h.connected(-err);
    ASSERT_EQ(h.out.to_tap.size(), 1u);
    auto eth = wire::EthernetView::parse(h.out.to_tap[0]);
    ASSERT_TRUE(eth);
    auto ip = wire::Ipv4View::parse(eth->payload());
    ASSERT_TRUE(ip);
    EXPECT_EQ(ip->protocol(), wire::IpProto::Icmp) << "no RST: the destination is unreachable";
    EXPECT_EQ(ip->src(), kWorld);
    EXPECT_EQ(ip->dst(), kGuest);
    auto icmp = wire::IcmpView::parse(ip->payload());
    ASSERT_TRUE(icmp);
    EXPECT_EQ(icmp->type(), wire::kIcmpDestUnreachable);
    EXPECT_EQ(icmp->code(), code);
    // The quote is the SYN's IP header (20 bytes, no options) + 8 bytes of TCP.
    auto syn_ip = std::span<const std::byte>(syn_frame).subspan(wire::kEthernetHeaderLen, 28);
    ASSERT_EQ(icmp->payload().size(), syn_ip.size());
    EXPECT_TRUE(std::equal(syn_ip.begin(), syn_ip.end(), icmp->payload().begin()));
    EXPECT_EQ(h.count<CloseSocket>(), 1u);
    EXPECT_FALSE(h.state().has_value());
    EXPECT_EQ(h.conns(), 0u);
  }
}

TEST_F(TcpConnecting, ConnectTimeoutSendsRstAndAbortsTheSocket) {
  const Time t0 = now;
  syn();
  auto deadline = stack.next_deadline();
  ASSERT_TRUE(deadline);
  EXPECT_LE(*deadline, t0 + TcpEngine::kConnectTimeout);

  timer_at(t0 + TcpEngine::kConnectTimeout - milliseconds(1));
  EXPECT_TRUE(out.to_tap.empty());
  EXPECT_EQ(state(), TcpState::Connecting);

  timer_at(t0 + TcpEngine::kConnectTimeout);
  auto r = only_seg();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->has(kRst | kAck));
  EXPECT_EQ(r->ack, isn + 1);
  auto cs = ops<CloseSocket>();
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_TRUE(cs[0].abort);
  EXPECT_FALSE(state().has_value());
  EXPECT_EQ(conns(), 1u) << "the connect is still in flight";

  connected(-ECANCELED);
  EXPECT_TRUE(out.to_tap.empty());
  EXPECT_TRUE(out.to_host.empty());
  EXPECT_EQ(conns(), 0u);
}

TEST_F(TcpConnecting, GuestRstAbortsTheConnectAndALateSuccessIsIgnored) {
  syn();
  rst();
  auto cs = ops<CloseSocket>();
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_TRUE(cs[0].abort);
  EXPECT_TRUE(out.to_tap.empty());
  EXPECT_FALSE(state().has_value());
  EXPECT_EQ(conns(), 1u) << "kept until the connect completes";
  connected(0);  // the connect had already succeeded
  EXPECT_TRUE(out.to_tap.empty()) << "no SYN-ACK for an aborted connection";
  EXPECT_TRUE(out.to_host.empty());
  EXPECT_EQ(conns(), 0u);
}

}  // namespace
}  // namespace tcp_test
}  // namespace netd::tap
