// TCP engine, Closed: aborts from either side, and I/O in flight after
// CloseSocket.

#include "unit/tap/tcp_harness.h"

namespace netd::tap {
namespace tcp_test {
namespace {

TEST_F(TcpClosed, ReceiveInFlightKeepsTheConnectionUntilItIsCancelled) {
  establish();
  readable();
  ASSERT_TRUE(recv_span);
  rst();
  EXPECT_EQ(count<CloseSocket>(), 1u);
  EXPECT_FALSE(state().has_value());
  EXPECT_EQ(conns(), 1u) << "the TcpRecv still points into the connection's buffer";
  received(-ECANCELED);
  EXPECT_TRUE(out.to_tap.empty());
  EXPECT_TRUE(out.to_host.empty());
  EXPECT_EQ(conns(), 0u);
}

TEST_F(TcpClosed, SendInFlightKeepsTheConnectionUntilItIsCancelled) {
  establish();
  data("pending");
  ASSERT_TRUE(send_span);
  rst();
  EXPECT_EQ(conns(), 1u);
  sent(-ECANCELED);
  EXPECT_TRUE(out.to_host.empty());
  EXPECT_EQ(conns(), 1u) << "the poll is still in flight";
  readable(-ECANCELED);
  EXPECT_EQ(conns(), 0u);
}

TEST_F(TcpClosed, HostResetOnReceiveSendsRstToTheGuest) {
  establish();
  data("x");
  host_takes();
  readable();
  received(-ECONNRESET);
  auto r = only_seg();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->has(kRst));
  EXPECT_EQ(r->seq, iss + 1) << "in the guest's window";
  EXPECT_EQ(r->ack, isn + 2);
  EXPECT_EQ(count<CloseSocket>(), 1u);
  EXPECT_FALSE(state().has_value());
  EXPECT_EQ(conns(), 0u);
}

TEST_F(TcpClosed, HostResetOnSendSendsRstToTheGuest) {
  establish();
  data("doomed");
  sent(-ECONNRESET);
  auto r = only_seg();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->has(kRst));
  EXPECT_EQ(r->seq, iss + 1);
  EXPECT_EQ(count<CloseSocket>(), 1u);
  EXPECT_FALSE(state().has_value());
  drain_cancelled();
  EXPECT_EQ(conns(), 0u);
}

TEST_F(TcpClosed, HostResetWhilePollingSendsRstToTheGuest) {
  establish();
  ASSERT_TRUE(polling);
  readable(-ECONNRESET);
  auto r = only_seg();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->has(kRst));
  EXPECT_EQ(count<CloseSocket>(), 1u);
  EXPECT_FALSE(state().has_value());
  EXPECT_EQ(conns(), 0u);
}

TEST_F(TcpClosed, SegmentsAfterTheCloseAreAnsweredWithRst) {
  establish();
  expect_guest_rst_aborts();
  data("anyone?");
  auto r = only_seg();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->has(kRst));
  EXPECT_EQ(r->seq, g_ack) << "<SEQ=SEG.ACK><CTL=RST>";
  EXPECT_EQ(count<TcpConnect>(), 0u);
  EXPECT_EQ(conns(), 0u);
}

TEST_F(TcpClosed, ResultsForAForgottenFlowAreIgnored) {
  syn();
  connected(-ECONNREFUSED);
  ASSERT_EQ(conns(), 0u);
  for (int step = 0; step < 4; ++step) {
    out.clear();
    switch (step) {
      case 0: stack.on_tcp_connected(now, flow, 0, out); break;
      case 1: stack.on_tcp_readable(now, flow, 0, out); break;
      case 2: stack.on_tcp_received(now, flow, 5, out); break;
      case 3: stack.on_tcp_sent(now, flow, 5, out); break;
    }
    EXPECT_TRUE(out.to_tap.empty()) << "step " << step;
    EXPECT_TRUE(out.to_host.empty()) << "step " << step;
  }
  EXPECT_EQ(conns(), 0u);
}

}  // namespace
}  // namespace tcp_test
}  // namespace netd::tap
