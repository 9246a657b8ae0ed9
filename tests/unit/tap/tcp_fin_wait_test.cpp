// TCP engine, FinWait1 / FinWait2 / Closing: the host sent EOF first.

#include "unit/tap/tcp_harness.h"

namespace netd::tap {
namespace tcp_test {
namespace {

TEST_F(TcpFinWait, HostEofSendsFinAfterTheLastDataByte) {
  establish({.mss = 1000});
  host_sends(pattern(1500));
  EXPECT_EQ(payload_out(), pattern(1500));
  host_eof();
  auto f = only_seg();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->flags & (kFin | kAck | kRst | kSyn), kFin | kAck);
  EXPECT_EQ(f->seq, iss + 1 + 1500);
  EXPECT_TRUE(f->payload.empty());
  EXPECT_EQ(f->ack, isn + 1);
  EXPECT_EQ(state(), TcpState::FinWait1);
  EXPECT_EQ(count<CloseSocket>(), 0u);
}

TEST_F(TcpFinWait, FinWaitsUntilTheWindowLetsTheLastByteOut) {
  establish({.mss = 1000, .ack_window = 1000});
  host_sends(pattern(1500));
  EXPECT_EQ(payload_out(), pattern(1000));
  host_eof();
  for (const auto& s : segs()) EXPECT_FALSE(s.has(kFin)) << "500 bytes still unsent";
  EXPECT_EQ(state(), TcpState::Established);
  ack(iss + 1 + 1000, 1000);
  auto v = segs();
  ASSERT_FALSE(v.empty());
  EXPECT_EQ(payload_out(), pattern(500, 1000));
  EXPECT_TRUE(v.back().has(kFin));
  EXPECT_EQ(v.back().seq + v.back().payload.size(), iss + 1 + 1500);
  EXPECT_EQ(state(), TcpState::FinWait1);
}

TEST_F(TcpFinWait, FinIsRetransmittedOnTheTimer) {
  establish();
  const Time t0 = now;
  host_eof();
  auto f = only_seg();
  ASSERT_TRUE(f);
  timer_at(t0 + TcpEngine::kInitialRto);
  auto again = only_seg();
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->has(kFin));
  EXPECT_EQ(again->seq, f->seq);
  EXPECT_EQ(state(), TcpState::FinWait1);
}

TEST_F(TcpFinWait, AckOfOurFinEntersFinWait2AndGuestDataStillFlows) {
  establish();
  host_eof();
  ack(iss + 2);
  EXPECT_EQ(state(), TcpState::FinWait2);
  data("late request");
  auto a = only_seg();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->ack, isn + 1 + 12);
  EXPECT_EQ(host_takes(), "late request");
  EXPECT_EQ(state(), TcpState::FinWait2);
}

// An orderly close that a guest segment completes frees the connection while
// the engine is still handling that segment (TcpEngine::maybe_free keeps it
// until the next event; -DNETD_SANITIZE=ON checks no freed memory is read).
TEST_F(TcpFinWait, GuestFinInFinWait2ClosesGracefully) {
  establish();
  host_eof();
  ack(iss + 2);
  ASSERT_EQ(state(), TcpState::FinWait2);
  fin();
  auto a = only_seg();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->ack, isn + 2) << "the guest's FIN is acknowledged";
  EXPECT_FALSE(a->has(kRst));
  EXPECT_EQ(count<TcpShutdown>(), 1u);
  auto cs = ops<CloseSocket>();
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_FALSE(cs[0].abort) << "both FINs: an orderly close";
  EXPECT_FALSE(state().has_value());
  EXPECT_EQ(conns(), 0u);
  EXPECT_EQ(counters().tcp_conns_closed, 1u);
}

TEST_F(TcpFinWait, GuestFinWithQueuedDataClosesOnlyAfterTheWrite) {
  establish();
  host_eof();
  ack(iss + 2);
  data("tail", kFin);
  EXPECT_EQ(count<TcpShutdown>(), 0u);
  EXPECT_EQ(count<CloseSocket>(), 0u);
  EXPECT_EQ(host_takes(), "tail");
  EXPECT_EQ(count<TcpShutdown>(), 1u);
  auto cs = ops<CloseSocket>();
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_FALSE(cs[0].abort);
  EXPECT_EQ(conns(), 0u);
}

// Our FIN acknowledged closes the connection inside the segment's handling
// (see GuestFinInFinWait2ClosesGracefully).
TEST_F(TcpFinWait, SimultaneousCloseGoesThroughClosing) {
  establish();
  host_eof();
  auto f = only_seg();
  ASSERT_TRUE(f);
  fin();  // crosses our FIN: acknowledges only up to it
  EXPECT_EQ(state(), TcpState::Closing);
  EXPECT_EQ(count<TcpShutdown>(), 1u);
  EXPECT_EQ(count<CloseSocket>(), 0u);
  ack(f->seq + 1);
  auto cs = ops<CloseSocket>();
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_FALSE(cs[0].abort);
  EXPECT_FALSE(state().has_value());
  EXPECT_EQ(conns(), 0u);
}

TEST_F(TcpFinWait, GuestRstInFinWait1AbortsTheSocket) {
  establish();
  host_eof();
  ASSERT_EQ(state(), TcpState::FinWait1);
  expect_guest_rst_aborts();
}

TEST_F(TcpFinWait, GuestRstInFinWait2AbortsTheSocket) {
  establish();
  host_eof();
  ack(iss + 2);
  ASSERT_EQ(state(), TcpState::FinWait2);
  expect_guest_rst_aborts();
}

}  // namespace
}  // namespace tcp_test
}  // namespace netd::tap
