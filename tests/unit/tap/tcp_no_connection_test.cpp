// TCP engine, no connection: segments for unknown 4-tuples, policy, limits.

#include "unit/tap/tcp_harness.h"

namespace netd::tap {
namespace tcp_test {
namespace {

TEST_F(TcpNoConnection, AckSegmentForAnUnknownConnectionGetsRst) {
  g_ack = 7777;
  data_at(5000, "stray");
  auto r = only_seg();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->flags, kRst) << "<SEQ=SEG.ACK><CTL=RST>";
  EXPECT_EQ(r->seq, 7777u);
  EXPECT_EQ(r->sport, kServerPort);
  EXPECT_EQ(r->dport, kGuestPort);
  EXPECT_EQ(r->src, kWorld);
  EXPECT_EQ(r->dst, kGuest);
  EXPECT_TRUE(out.to_host.empty());
  EXPECT_EQ(conns(), 0u);
  EXPECT_EQ(counters().tcp_rst_sent, 1u);
}

TEST_F(TcpNoConnection, NonAckSegmentForAnUnknownConnectionGetsRstAck) {
  feed(spec(5000, kPsh), "abc");
  auto r = only_seg();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->flags, kRst | kAck) << "<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>";
  EXPECT_EQ(r->seq, 0u);
  EXPECT_EQ(r->ack, 5003u);
  feed(spec(9000, kFin));
  r = only_seg();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->ack, 9001u) << "a FIN counts one";
}

TEST_F(TcpNoConnection, SynAckForAnUnknownConnectionGetsRst) {
  g_ack = 4242;
  feed(spec(100, kSyn | kAck));
  auto r = only_seg();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->has(kRst));
  EXPECT_EQ(r->seq, 4242u);
  EXPECT_EQ(count<TcpConnect>(), 0u);
  EXPECT_EQ(conns(), 0u);
}

TEST_F(TcpNoConnection, RstForAnUnknownConnectionIsIgnored) {
  feed(spec(5000, kRst));
  g_ack = 1;
  feed(spec(5000, kRst | kAck));
  EXPECT_TRUE(out.to_tap.empty());
  EXPECT_TRUE(out.to_host.empty());
  EXPECT_EQ(counters().tcp_rst_sent, 0u);
}

TEST_F(TcpNoConnection, SynToAForbiddenDestinationIsRefusedWithRst) {
  for (Ipv4Addr forbidden : {Ipv4Addr::from_octets(127, 0, 0, 1), Ipv4Addr::from_octets(10, 0, 2, 77),
                             Ipv4Addr::from_octets(224, 0, 0, 1)}) {
    TcpHarness h;
    h.dst = forbidden;
    h.syn();
    auto r = h.only_seg();
    ASSERT_TRUE(r) << forbidden.to_string();
    EXPECT_EQ(r->flags, kRst | kAck);
    EXPECT_EQ(r->ack, h.isn + 1);
    EXPECT_EQ(h.count<TcpConnect>(), 0u);
    EXPECT_EQ(h.conns(), 0u);
    EXPECT_EQ(h.counters().drop_policy, 1u);
  }
}

TEST_F(TcpNoConnection, ConnectionsAreCountedAndKeptApart) {
  syn();
  const FlowId first = flow;
  const FlowKey first_key = key();
  gport = kGuestPort + 1;
  syn();
  const FlowId second = flow;
  EXPECT_NE(first, second);
  EXPECT_EQ(conns(), 2u);
  EXPECT_EQ(counters().tcp_conns_opened, 2u);

  flow = first;
  connected(-ECONNREFUSED);
  EXPECT_EQ(conns(), 1u);
  EXPECT_FALSE(stack.tcp().state_of(first_key).has_value());
  EXPECT_EQ(state(), TcpState::Connecting) << "the other connection is untouched";
  auto r = only_seg();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->dport, kGuestPort) << "the RST goes to the refused connection";

  flow = second;
  connected();
  EXPECT_EQ(state(), TcpState::SynReceived);
  EXPECT_EQ(counters().tcp_conns_closed, 1u);
}

TEST(TcpLimits, PendingConnectsBeyondTheCapAreRefusedWithRst) {
  auto cfg = test_config();
  cfg.tcp_max_connecting = 2;
  TcpHarness h(cfg);
  h.gport = 2000;
  h.syn();
  ASSERT_EQ(h.count<TcpConnect>(), 1u);
  FlowId first = h.flow;
  h.gport = 2001;
  h.syn();
  ASSERT_EQ(h.count<TcpConnect>(), 1u);
  h.gport = 2002;
  h.syn();
  EXPECT_EQ(h.count<TcpConnect>(), 0u);
  auto r = h.only_seg();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->flags, kRst | kAck);
  EXPECT_EQ(h.counters().tcp_connect_limit, 1u);
  h.flow = first;
  h.gport = 2000;
  h.connected();  // one connect finished: room for one more
  h.gport = 2003;
  h.syn();
  EXPECT_EQ(h.count<TcpConnect>(), 1u);
  EXPECT_EQ(h.counters().tcp_connect_limit, 1u);
}

TEST(TcpLimits, NothingToReadWaitsWithAPollNotAnArmedReceive) {
  // An armed receive would keep the connection's ring chunk (the memory
  // budget) for as long as the peer stays quiet.
  TcpHarness h;
  h.establish();
  h.readable();
  ASSERT_TRUE(h.recv_span.has_value());
  h.received(-EAGAIN);
  EXPECT_EQ(h.count<TcpPoll>(), 1u);
  EXPECT_EQ(h.count<TcpRecv>(), 0u);
  EXPECT_EQ(h.state(), TcpState::Established);
  h.host_sends("later");  // readable again, then the receive: still delivered
  EXPECT_EQ(h.state(), TcpState::Established);
  EXPECT_EQ(h.counters().tcp_bytes_from_host, 5u);
}

TEST_F(TcpNoConnection, ConnectionLimitRefusesNewSynsWithRst) {
  std::vector<FlowId> flows;
  flows.reserve(TcpEngine::kMaxConns);
  for (size_t i = 0; i < TcpEngine::kMaxConns; ++i) {
    gport = static_cast<uint16_t>(1024 + i);
    syn();
    ASSERT_EQ(count<TcpConnect>(), 1u) << "connection " << i;
    flows.push_back(flow);
  }
  EXPECT_EQ(conns(), TcpEngine::kMaxConns);
  gport = static_cast<uint16_t>(1024 + TcpEngine::kMaxConns);
  syn();
  EXPECT_EQ(count<TcpConnect>(), 0u);
  auto r = only_seg();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->flags, kRst | kAck);
  EXPECT_EQ(counters().tcp_conn_limit, 1u);
  EXPECT_FALSE(state().has_value());

  flow = flows.front();
  connected(-ECONNREFUSED);  // one slot frees
  ASSERT_EQ(conns(), TcpEngine::kMaxConns - 1);
  syn();
  EXPECT_EQ(count<TcpConnect>(), 1u);
  EXPECT_EQ(state(), TcpState::Connecting);
}

}  // namespace
}  // namespace tcp_test
}  // namespace netd::tap
