// TCP engine, SynSent: a published port accepted a host client and netd
// opens the connection towards the guest, from the client's address.

#include "unit/tap/tcp_harness.h"

namespace netd::tap {
namespace tcp_test {
namespace {

TEST_F(TcpSynSent, SendsSynFromTheClientAddressAndAsksForAnUnknownGuestMac) {
  ASSERT_TRUE(inbound());
  EXPECT_EQ(state(), TcpState::SynSent);
  ASSERT_EQ(out.to_tap.size(), 2u);  // ARP request (guest MAC unknown), then the SYN
  auto syn = parse_tcp(out.to_tap[1]);
  ASSERT_TRUE(syn);
  EXPECT_TRUE(syn->has(kSyn));
  EXPECT_FALSE(syn->has(kAck));
  EXPECT_EQ(syn->src, kWorld);
  EXPECT_EQ(syn->dst, kGuest);
  EXPECT_EQ(syn->dport, 8080);
  EXPECT_EQ(syn->sport, 51000);
  EXPECT_TRUE(syn->opts.mss.has_value());
  EXPECT_EQ(syn->opts.window_scale, TcpEngine::kOurWindowScale);
}

TEST_F(TcpSynSent, LoopbackClientsAppearAsTheGateway) {
  ASSERT_TRUE(inbound(Ipv4Addr::from_octets(127, 0, 0, 1)));
  auto syn = parse_tcp(out.to_tap.back());
  ASSERT_TRUE(syn);
  EXPECT_EQ(syn->src, kGateway);
}

TEST_F(TcpSynSent, GuestSynAckEstablishesAndClientDataFlows) {
  ASSERT_TRUE(inbound());
  auto syn = parse_tcp(out.to_tap.back());
  ASSERT_TRUE(syn);
  iss = syn->seq;
  // The guest answers SYN-ACK (no window scaling: netd must drop its own).
  auto sa = spec(isn, kSyn | kAck);
  sa.ack = wire::SeqNum(iss + 1);
  sa.mss = 1460;
  g_ack = iss + 1;
  feed(sa);
  g_nxt = isn + 1;
  synced = true;
  EXPECT_EQ(state(), TcpState::Established);
  auto a = only_seg();
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->has(kAck));
  EXPECT_EQ(a->ack, isn + 1);
  EXPECT_EQ(a->seq, iss + 1);
  EXPECT_TRUE(polling) << "netd starts reading the accepted socket";
  // Guest data goes to the accepted socket.
  data("hello");
  ASSERT_TRUE(send_span.has_value());
  EXPECT_EQ(as_string(*send_span), "hello");
}

TEST_F(TcpSynSent, GuestRstResetsTheHostClient) {
  ASSERT_TRUE(inbound());
  auto syn = parse_tcp(out.to_tap.back());
  ASSERT_TRUE(syn);
  auto r = spec(0, kRst | kAck);
  r.ack = wire::SeqNum(syn->seq + 1);
  feed(r);
  auto closes = ops<CloseSocket>();
  ASSERT_EQ(closes.size(), 1u);
  EXPECT_TRUE(closes[0].abort);
  EXPECT_FALSE(state().has_value());
}

TEST_F(TcpSynSent, UnansweredSynIsRetransmittedThenTheClientIsReset) {
  ASSERT_TRUE(inbound());
  int syns = 0;
  bool aborted = false;
  for (int i = 0; i < 20 && !aborted; ++i) {
    timer_at(now + TcpEngine::kMaxRto);
    for (const auto& sg : segs()) syns += sg.has(kSyn) ? 1 : 0;
    for (const auto& c : ops<CloseSocket>()) aborted = aborted || c.abort;
  }
  EXPECT_EQ(syns, TcpEngine::kMaxSynRetries);
  EXPECT_TRUE(aborted);
}

TEST_F(TcpSynSent, A4TupleInUseIsRefused) {
  ASSERT_TRUE(inbound());
  std::optional<FlowId> again;
  run([&] { again = stack.on_tcp_inbound(now, kWorld, 51000, 8080, out); });
  EXPECT_FALSE(again.has_value());
}

}  // namespace
}  // namespace tcp_test
}  // namespace netd::tap
