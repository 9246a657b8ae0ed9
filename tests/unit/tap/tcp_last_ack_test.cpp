// TCP engine, LastAck: the guest's FIN first, then ours.

#include "unit/tap/tcp_harness.h"

namespace netd::tap {
namespace tcp_test {
namespace {

TEST_F(TcpLastAck, HostEofAfterGuestFinSendsFinAfterTheData) {
  establish();
  fin();
  host_sends("bye");
  host_eof();
  auto f = only_seg();
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->has(kFin | kAck));
  EXPECT_EQ(f->seq, iss + 1 + 3);
  EXPECT_EQ(f->ack, isn + 2);
  EXPECT_EQ(state(), TcpState::LastAck);
}

TEST_F(TcpLastAck, AckOfDataButNotOurFinKeepsWaiting) {
  establish();
  fin();
  host_sends("bye");
  host_eof();
  ack(iss + 1 + 3);
  EXPECT_EQ(state(), TcpState::LastAck);
  EXPECT_EQ(count<CloseSocket>(), 0u);
}

// Our FIN acknowledged closes the connection inside the segment's handling
// (see TcpFinWait.GuestFinInFinWait2ClosesGracefully).
TEST_F(TcpLastAck, AckOfOurFinClosesGracefully) {
  establish();
  fin();
  host_sends("bye");
  host_eof();
  ack(iss + 1 + 3 + 1);
  EXPECT_TRUE(out.to_tap.empty());
  auto cs = ops<CloseSocket>();
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_FALSE(cs[0].abort);
  EXPECT_FALSE(state().has_value());
  EXPECT_EQ(conns(), 0u);
  EXPECT_EQ(counters().tcp_conns_closed, 1u);
  EXPECT_EQ(counters().tcp_rst_sent, 0u);
}

TEST_F(TcpLastAck, GuestRstAbortsTheSocket) {
  establish();
  fin();
  host_eof();
  ASSERT_EQ(state(), TcpState::LastAck);
  expect_guest_rst_aborts();
}

}  // namespace
}  // namespace tcp_test
}  // namespace netd::tap
