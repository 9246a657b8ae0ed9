// TCP engine, Established, guest -> host: in-order and early data, windows,
// acknowledgements, sequence number wrap-around.

#include "unit/tap/tcp_harness.h"

namespace netd::tap {
namespace tcp_test {
namespace {

TEST_F(TcpEstablished, InOrderDataGoesToTheHostAndIsAcknowledged) {
  establish();
  data("hello, host");
  auto s = ops<TcpSend>();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flow, flow);
  EXPECT_EQ(as_string(s[0].data), "hello, host");
  EXPECT_EQ(counters().tcp_bytes_to_host, 11u);
  EXPECT_TRUE(out.to_tap.empty()) << "a lone segment's ACK waits for an answer to ride on";
  ack_delay_passes();  // no answer from the host in time: a pure ACK
  auto a = only_seg();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->flags, kAck);
  EXPECT_EQ(a->ack, isn + 1 + 11);
  EXPECT_EQ(a->seq, iss + 1);
  EXPECT_TRUE(a->payload.empty());
  timer_at(now + seconds(1));
  EXPECT_TRUE(out.to_tap.empty()) << "acknowledged once";
}

TEST_F(TcpEstablished, TheAckOfARequestRidesOnTheAnswer) {
  establish();
  data("request");
  EXPECT_TRUE(out.to_tap.empty());
  EXPECT_EQ(host_takes(), "request");
  EXPECT_TRUE(out.to_tap.empty()) << "no window update: the guest's view of our window was never small";
  host_sends("answer");
  auto a = only_seg();
  ASSERT_TRUE(a) << "one frame: the answer, carrying the ACK";
  EXPECT_EQ(a->payload, "answer");
  EXPECT_EQ(a->ack, isn + 1 + 7);
  ASSERT_TRUE(stack.next_deadline().has_value());
  EXPECT_GT(*stack.next_deadline(), now + TcpEngine::kAckDelay)
      << "the loop does not wake for the ACK the answer carried (only the retransmission timer)";
  timer_at(now + TcpEngine::kAckDelay);
  EXPECT_TRUE(out.to_tap.empty()) << "no pure ACK after the answer carried it";
  ack(iss + 1 + 6);  // the guest has the answer: nothing is outstanding either way
  EXPECT_FALSE(stack.next_deadline().has_value())
      << "disarmed timers leave no deadline behind (each would wake the loop for nothing)";
}

TEST_F(TcpEstablished, EverySecondSegmentIsAcknowledgedAtOnce) {
  establish();
  data("one");
  EXPECT_TRUE(out.to_tap.empty());
  data("two");
  auto a = only_seg();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->ack, isn + 1 + 6);
  data("three");
  EXPECT_TRUE(out.to_tap.empty()) << "the count starts again after each ACK";
  ack_delay_passes();
  a = only_seg();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->ack, isn + 1 + 11);
}

TEST_F(TcpEstablished, WindowFieldIsTheQueueFreeSpaceScaled) {
  establish({.mss = 1460, .wscale = 5});
  ASSERT_TRUE(our_wscale.has_value());
  const uint32_t shift = *our_wscale;
  // The window the guest computes (field << shift) is the queue's free space,
  // rounded down to the scale unit.
  auto check = [&](uint32_t queued) {
    auto a = only_seg();
    ASSERT_TRUE(a);
    const uint32_t free = kQueue - queued;
    const uint32_t win = uint32_t{a->window} << shift;
    EXPECT_LE(win, free) << "queued " << queued;
    EXPECT_GT(win + (1u << shift), free) << "queued " << queued;
  };
  data(pattern(1000));  // TcpSend in flight: the queue keeps it
  ack_delay_passes();
  check(1000);
  data(pattern(3000, 1000));
  ack_delay_passes();
  check(4000);
  EXPECT_EQ(host_takes(), pattern(1000));  // 1000 bytes left the queue
  data(pattern(100, 4000));
  ack_delay_passes();
  check(3100);

  // Without window scaling the field is the free space, clamped to 16 bits.
  TcpHarness h;
  h.establish({.mss = 1460, .wscale = std::nullopt});
  EXPECT_FALSE(h.our_wscale.has_value());
  h.data("x");
  h.ack_delay_passes();
  auto a = h.only_seg();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->window, 65535);
}

TEST_F(TcpEstablished, PartialWriteSendsTheRestNext) {
  establish();
  data("0123456789");
  EXPECT_EQ(host_takes(4), "0123");
  ASSERT_EQ(count<TcpSend>(), 1u);
  EXPECT_EQ(host_takes(), "456789");
  EXPECT_EQ(count<TcpSend>(), 0u) << "everything was written";
  EXPECT_FALSE(send_span.has_value());
}

TEST_F(TcpEstablished, OneSendAtATimeKeepsTheBytesInOrder) {
  establish();
  data("first ");
  ASSERT_EQ(count<TcpSend>(), 1u);
  data("second");
  EXPECT_EQ(count<TcpSend>(), 0u) << "a write is already in flight";
  auto a = only_seg();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->ack, isn + 1 + 12) << "queued data is acknowledged";
  EXPECT_EQ(host_takes(), "first ");
  EXPECT_EQ(host_takes(), "second");
}

TEST_F(TcpEstablished, EarlySegmentGetsDuplicateAckAndFollowsWhenTheHoleFills) {
  establish();
  data_at(isn + 1 + 5, "WORLD");
  auto a = only_seg();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->flags, kAck);
  EXPECT_EQ(a->ack, isn + 1) << "duplicate ACK: the guest fills the hole";
  EXPECT_EQ(count<TcpSend>(), 0u);
  EXPECT_EQ(counters().tcp_out_of_order, 1u);

  data("hello");
  auto a2 = only_seg();
  ASSERT_TRUE(a2);
  EXPECT_EQ(a2->ack, isn + 1 + 10) << "the kept segment is acknowledged with the hole";
  EXPECT_EQ(host_takes(), "helloWORLD");
}

TEST_F(TcpEstablished, EarlySegmentsInAnyOrderOverlappingOrRepeatedComeOutOnce) {
  establish();
  data_at(isn + 1 + 10, "KLMNO");
  data_at(isn + 1 + 5, "FGHIJ");
  data_at(isn + 1 + 10, "KLMNO");   // repeated
  data_at(isn + 1 + 8, "IJKLM");    // overlaps both
  EXPECT_EQ(count<TcpSend>(), 0u);
  data("ABCDE");
  auto a = only_seg();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->ack, isn + 1 + 15);
  EXPECT_EQ(host_takes(), "ABCDEFGHIJKLMNO");
}

TEST_F(TcpEstablished, EarlyFinIsTakenWhenItsHoleFills) {
  establish();
  feed(spec(g_nxt + 5, kAck | kPsh | kFin), "WORLD");
  EXPECT_EQ(state(), TcpState::Established);
  data("hello");
  auto a = only_seg();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->ack, isn + 1 + 11) << "data and FIN acknowledged";
  EXPECT_EQ(state(), TcpState::CloseWait);
  EXPECT_EQ(host_takes(), "helloWORLD");
}

TEST_F(TcpEstablished, SegmentBeyondTheWindowIsNotQueued) {
  establish();
  data_at(isn + 1 + 4 * kQueue, "far future");
  auto a = only_seg();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->ack, isn + 1);
  EXPECT_EQ(count<TcpSend>(), 0u);
}

TEST_F(TcpEstablished, RetransmittedDataIsReackedAndNotQueuedTwice) {
  establish();
  data("hello");
  EXPECT_EQ(host_takes(), "hello");
  data_at(isn + 1, "hello");  // our ACK was lost
  auto a = only_seg();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->ack, isn + 1 + 5);
  EXPECT_EQ(count<TcpSend>(), 0u);
  // A retransmission that overlaps old and new bytes: only the new ones go on.
  data_at(isn + 1, "hello world");
  auto a2 = only_seg();
  ASSERT_TRUE(a2);
  EXPECT_EQ(a2->ack, isn + 1 + 11);
  EXPECT_EQ(host_takes(), " world");
}

TEST_F(TcpEstablished, FullQueueClosesTheWindowAndAWriteReopensIt) {
  establish({.mss = 1460, .wscale = 7});
  ASSERT_TRUE(our_wscale.has_value());
  const uint32_t shift = *our_wscale;
  constexpr uint32_t kSeg = 60000;
  const uint32_t base = isn + 1;
  // The host socket takes nothing: the first TcpSend stays in flight.
  uint32_t offered = 0;
  while (offered < kQueue) {
    data_at(base + offered, pattern(kSeg, offered));
    offered += kSeg;
  }
  auto a = only_seg();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->ack, base + kQueue) << "only what fits in the queue is acknowledged";
  EXPECT_EQ(a->window, 0) << "full queue: zero window";

  data_at(base + kQueue, pattern(100, kQueue));  // the guest probes the zero window
  a = only_seg();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->ack, base + kQueue);
  EXPECT_EQ(a->window, 0);

  std::string written = host_takes(100);
  EXPECT_TRUE(out.to_tap.empty()) << "less than a segment of room: no window update yet";
  written += host_takes(kSeg);
  a = only_seg();
  ASSERT_TRUE(a) << "the window reopens with an ACK";
  EXPECT_EQ(a->ack, base + kQueue);
  EXPECT_GT(a->window, 0);
  EXPECT_LE(uint32_t{a->window} << shift, kSeg + 100);

  data_at(base + kQueue, pattern(100, kQueue));
  ack_delay_passes();
  a = only_seg();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->ack, base + kQueue + 100);
  while (send_span) written += host_takes();
  EXPECT_EQ(written.size(), kQueue + 100);
  EXPECT_TRUE(written == pattern(kQueue + 100)) << "every byte once, in order";
}

TEST_F(TcpEstablished, GuestSequenceNumbersWrapAround) {
  isn = 0xfffffff0u;
  establish();
  data(pattern(40));  // 0xfffffff1 .. 0x18
  EXPECT_EQ(host_takes(), pattern(40));
  ack_delay_passes();
  auto a = only_seg();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->ack, 0x19u);
  data("more");
  ack_delay_passes();
  a = only_seg();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->ack, 0x1du);
  EXPECT_EQ(host_takes(), "more");
  data_at(0xfffffff1u, pattern(40));  // old, from before the wrap
  a = only_seg();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->ack, 0x1du);
  EXPECT_EQ(count<TcpSend>(), 0u);
  data_at(0x1du + 10, "gap");  // ahead, after the wrap
  a = only_seg();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->ack, 0x1du);
  EXPECT_EQ(count<TcpSend>(), 0u);
  fin();
  a = only_seg();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->ack, 0x1eu);
  EXPECT_EQ(count<TcpShutdown>(), 1u);

  TcpHarness h;
  h.isn = 0xffffffffu;  // the SYN itself takes the last number
  h.syn();
  h.connected();
  auto sa = h.only_seg();
  ASSERT_TRUE(sa);
  EXPECT_EQ(sa->ack, 0u);
}

}  // namespace
}  // namespace tcp_test
}  // namespace netd::tap
