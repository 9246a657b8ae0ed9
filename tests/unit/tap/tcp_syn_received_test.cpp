// TCP engine, SynReceived: the host connected, the SYN-ACK went out, the
// guest's ACK is awaited.

#include "unit/tap/tcp_harness.h"

namespace netd::tap {
namespace tcp_test {
namespace {

TEST_F(TcpSynReceived, GuestAckEstablishesAndStopsTheSynAckTimer) {
  syn();
  connected();
  auto sa = only_seg();
  ASSERT_TRUE(sa);
  const Time t0 = now;
  g_ack = sa->seq + 1;
  ack();
  EXPECT_EQ(state(), TcpState::Established);
  EXPECT_TRUE(out.to_tap.empty()) << "a pure ACK needs no answer";
  timer_at(t0 + TcpEngine::kMaxRto);
  EXPECT_TRUE(out.to_tap.empty()) << "no SYN-ACK retransmission once established";
}

TEST_F(TcpSynReceived, RetransmittedSynGetsTheSynAckAgain) {
  syn({.mss = 1460, .wscale = 3});
  connected();
  auto first = only_seg();
  ASSERT_TRUE(first);
  syn({.mss = 1460, .wscale = 3});  // our SYN-ACK was lost
  auto again = only_seg();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->flags, kSyn | kAck);
  EXPECT_EQ(again->seq, first->seq);
  EXPECT_EQ(again->ack, isn + 1);
  EXPECT_EQ(again->opts.mss, first->opts.mss);
  EXPECT_EQ(again->opts.window_scale, first->opts.window_scale);
  EXPECT_EQ(count<TcpConnect>(), 0u);
  EXPECT_EQ(state(), TcpState::SynReceived);
  EXPECT_EQ(conns(), 1u);
}

TEST_F(TcpSynReceived, SynAckIsRetransmittedOnTheTimerWithBackoff) {
  syn();
  connected();
  auto first = only_seg();
  ASSERT_TRUE(first);
  const Time t0 = now;
  const auto rto = TcpEngine::kInitialRto;

  timer_at(t0 + rto - milliseconds(1));
  EXPECT_TRUE(out.to_tap.empty());
  timer_at(t0 + rto);
  auto r1 = only_seg();
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->flags, kSyn | kAck);
  EXPECT_EQ(r1->seq, first->seq);
  EXPECT_EQ(r1->ack, isn + 1);

  const Time t1 = now;
  timer_at(t1 + 2 * rto - milliseconds(1));
  EXPECT_TRUE(out.to_tap.empty()) << "the second timeout is twice the first";
  timer_at(t1 + 2 * rto);
  auto r2 = only_seg();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->flags, kSyn | kAck);
  EXPECT_EQ(state(), TcpState::SynReceived);
}

TEST_F(TcpSynReceived, UnansweredSynAckGivesUpWithRst) {
  syn();
  connected();
  int synacks = 0;
  bool reset = false;
  for (int i = 0; i < 100 && !reset; ++i) {
    auto d = stack.next_deadline();
    ASSERT_TRUE(d);
    timer_at(*d);
    for (const auto& s : segs()) {
      if (s.has(kRst)) {
        reset = true;
        EXPECT_EQ(s.ack, isn + 1);
      } else if (s.has(kSyn | kAck)) {
        ++synacks;
      }
    }
  }
  ASSERT_TRUE(reset);
  EXPECT_EQ(synacks, TcpEngine::kMaxRetries);
  EXPECT_EQ(count<CloseSocket>(), 1u);
  EXPECT_FALSE(state().has_value());
  drain_cancelled();
  EXPECT_EQ(conns(), 0u);
}

TEST_F(TcpSynReceived, AckOfSomethingNeverSentIsAnsweredWithRst) {
  syn();
  connected();
  auto sa = only_seg();
  ASSERT_TRUE(sa);
  ack(sa->seq + 1000);
  auto r = only_seg();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->flags, kRst) << "<SEQ=SEG.ACK><CTL=RST>";
  EXPECT_EQ(r->seq, sa->seq + 1000);
  EXPECT_EQ(state(), TcpState::SynReceived);
  ack(sa->seq + 1);
  EXPECT_EQ(state(), TcpState::Established);
}

TEST_F(TcpSynReceived, HostDataBeforeTheHandshakeAckWaitsForIt) {
  syn();
  connected();
  auto sa = only_seg();
  ASSERT_TRUE(sa);
  host_sends("220 banner\r\n");
  EXPECT_TRUE(out.to_tap.empty()) << "no data before the guest completed the handshake";
  ack(sa->seq + 1);
  auto d = only_seg();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->seq, sa->seq + 1);
  EXPECT_EQ(d->payload, "220 banner\r\n");
  EXPECT_TRUE(d->has(kAck));
  EXPECT_EQ(d->ack, isn + 1);
}

TEST_F(TcpSynReceived, HostEofBeforeTheHandshakeAckSendsFinAfterIt) {
  syn();
  connected();
  auto sa = only_seg();
  ASSERT_TRUE(sa);
  host_eof();
  EXPECT_TRUE(out.to_tap.empty());
  ack(sa->seq + 1);
  auto f = only_seg();
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->has(kFin | kAck));
  EXPECT_EQ(f->seq, sa->seq + 1);
  EXPECT_EQ(state(), TcpState::FinWait1);
}

TEST_F(TcpSynReceived, GuestRstAbortsTheSocket) {
  syn();
  connected();
  expect_guest_rst_aborts();
}

}  // namespace
}  // namespace tcp_test
}  // namespace netd::tap
