// TCP engine, CloseWait: the guest sent FIN; host data still flows to it.

#include "unit/tap/tcp_harness.h"

namespace netd::tap {
namespace tcp_test {
namespace {

TEST_F(TcpCloseWait, GuestFinShutsTheSocketOnlyAfterQueuedDataIsWritten) {
  establish();
  data("abc", kFin);
  EXPECT_TRUE(out.to_tap.empty()) << "the ACK waits for our FIN to ride on";
  ack_delay_passes();
  auto a = only_seg();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->ack, isn + 1 + 3 + 1) << "data and FIN acknowledged within the ACK delay";
  EXPECT_EQ(state(), TcpState::CloseWait);
  EXPECT_EQ(count<TcpShutdown>(), 0u) << "data first";
  EXPECT_EQ(host_takes(1), "a");
  EXPECT_EQ(count<TcpShutdown>(), 0u);
  EXPECT_EQ(host_takes(), "bc");
  EXPECT_EQ(count<TcpShutdown>(), 1u);
  EXPECT_EQ(count<TcpSend>(), 0u);
  EXPECT_EQ(state(), TcpState::CloseWait);
}

TEST_F(TcpCloseWait, FinOnAnEmptyQueueShutsTheSocketAtOnce) {
  establish();
  fin();
  auto sh = ops<TcpShutdown>();
  ASSERT_EQ(sh.size(), 1u);
  EXPECT_EQ(sh[0].flow, flow);
  EXPECT_EQ(count<CloseSocket>(), 0u) << "half-close: the host may still answer";
  EXPECT_EQ(state(), TcpState::CloseWait);
  ack_delay_passes();
  auto a = only_seg();
  ASSERT_TRUE(a) << "a host that does not close in turn: the FIN's ACK comes alone";
  EXPECT_EQ(a->ack, isn + 2);
}

TEST_F(TcpCloseWait, TheAckOfTheGuestsFinRidesOnOurFin) {
  establish();
  fin();
  EXPECT_TRUE(out.to_tap.empty()) << "no ACK yet: the host peer usually closes in turn";
  host_eof();
  auto a = only_seg();
  ASSERT_TRUE(a) << "one frame: our FIN, acknowledging the guest's";
  EXPECT_TRUE(a->has(kFin | kAck));
  EXPECT_EQ(a->ack, isn + 2);
  EXPECT_EQ(state(), TcpState::LastAck);
  timer_at(now + TcpEngine::kAckDelay);
  EXPECT_TRUE(out.to_tap.empty()) << "no pure ACK after our FIN carried it";
}

TEST_F(TcpCloseWait, RetransmittedFinIsReackedWithoutASecondShutdown) {
  establish();
  fin();
  ASSERT_EQ(count<TcpShutdown>(), 1u);
  feed(spec(isn + 1, kFin | kAck));  // our ACK was lost
  auto a = only_seg();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->ack, isn + 2);
  EXPECT_EQ(count<TcpShutdown>(), 0u);
  EXPECT_EQ(state(), TcpState::CloseWait);
}

TEST_F(TcpCloseWait, DataAfterTheGuestFinIsNotPassedOn) {
  establish();
  fin();
  data("after fin");
  EXPECT_EQ(count<TcpSend>(), 0u);
  auto a = only_seg();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->ack, isn + 2);
}

TEST_F(TcpCloseWait, HostDataStillFlowsToTheGuest) {
  establish({.mss = 1000});
  fin();
  host_sends("the reply");
  auto d = only_seg();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->payload, "the reply");
  EXPECT_EQ(d->seq, iss + 1);
  EXPECT_EQ(d->ack, isn + 2);
  EXPECT_EQ(state(), TcpState::CloseWait);
}

TEST_F(TcpCloseWait, GuestRstAbortsTheSocket) {
  establish();
  fin();
  expect_guest_rst_aborts();
}

}  // namespace
}  // namespace tcp_test
}  // namespace netd::tap
