// TCP engine, Established, host -> guest: segmentation (and super-segments
// with tap offloads), retransmission, zero-window probes, resets.

#include "unit/tap/tcp_harness.h"

namespace netd::tap {
namespace tcp_test {
namespace {

TEST_F(TcpEstablished, IdleConnectionOnlyPollsAndReadableArmsAReceive) {
  syn();
  connected();
  EXPECT_EQ(count<TcpPoll>(), 1u);
  EXPECT_EQ(count<TcpRecv>(), 0u);
  auto sa = only_seg();
  ASSERT_TRUE(sa);
  ack(sa->seq + 1);
  EXPECT_TRUE(out.to_host.empty()) << "still just the poll";
  readable();
  auto r = ops<TcpRecv>();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].flow, flow);
  EXPECT_EQ(r[0].into.size(), TcpEngine::kQueueBytes);
}

TEST_F(TcpEstablished, HostDataIsCutIntoSegmentsOfTheGuestMss) {
  establish({.mss = 1000});
  const std::string d = pattern(2500);
  host_sends(d);
  auto v = segs();
  ASSERT_EQ(v.size(), 3u);
  uint32_t seq = iss + 1;
  for (size_t i = 0; i < v.size(); ++i) {
    EXPECT_LE(v[i].payload.size(), 1000u);
    EXPECT_EQ(v[i].seq, seq);
    EXPECT_TRUE(v[i].has(kAck));
    EXPECT_EQ(v[i].ack, isn + 1);
    EXPECT_EQ(v[i].has(kPsh), i + 1 == v.size()) << "PSH on the last segment only";
    seq += static_cast<uint32_t>(v[i].payload.size());
  }
  EXPECT_EQ(payload_out(), d);
  EXPECT_EQ(counters().tcp_bytes_from_host, 2500u);
  EXPECT_EQ(count<TcpRecv>(), 1u) << "room left: keep receiving";
}

TEST_F(TcpEstablished, WithTapOffloadsHostDataGoesAsSuperSegmentsOfWholeSegments) {
  StackConfig cfg = test_config(65520);
  cfg.tap_offload = true;
  for (uint16_t mss : {uint16_t{1460}, uint16_t{65480}}) {
    TcpHarness h(cfg);
    h.establish({.mss = mss, .wscale = 7});  // the guest's window: 65535 << 7
    const std::string d = pattern(300000);
    h.host_sends(d);
    std::string carried;
    uint32_t seq = h.iss + 1;
    for (size_t i = 0; i < h.out.to_tap.size(); ++i) {
      const Frame& f = h.out.to_tap[i];
      const bool last = i + 1 == h.out.to_tap.size();
      const std::string tail = as_string(f.tail);
      ASSERT_FALSE(tail.empty()) << "the payload stays in the ring; the frame points at it";
      EXPECT_LE(tail.size(), TcpEngine::kMaxSuperSegment);
      if (!last) {
        EXPECT_EQ(tail.size() % mss, 0u) << "mss " << mss << ": no runt segment in frame " << i;
      }
      EXPECT_TRUE(f.offload.csum_partial);
      if (tail.size() > mss) {
        EXPECT_EQ(f.offload.gso_size, mss);
        EXPECT_EQ(f.offload.hdr_len, f.size()) << "headers only in the frame's own bytes";
      } else {
        EXPECT_EQ(f.offload.gso_size, 0u);
      }
      const std::vector<std::byte> all = f.flat();
      auto eth = wire::EthernetView::parse(all);
      ASSERT_TRUE(eth);
      auto ip = wire::Ipv4View::parse(eth->payload());
      ASSERT_TRUE(ip);
      auto tcp = wire::TcpView::parse_checksum_offloaded(ip->payload());
      ASSERT_TRUE(tcp);
      EXPECT_EQ(tcp->seq().value(), seq);
      EXPECT_TRUE(as_string(tcp->payload()) == tail);
      seq += static_cast<uint32_t>(tail.size());
      carried += tail;
    }
    EXPECT_TRUE(carried == d) << "mss " << mss << ": every byte once, in order";
  }
}

TEST_F(TcpEstablished, SegmentsRespectOurMtuAndTheDefaultMss) {
  {
    TcpHarness h(test_config(1500));
    h.establish({.mss = 9000});
    h.host_sends(pattern(5000));
    auto v = h.segs();
    ASSERT_FALSE(v.empty());
    for (const auto& s : v) EXPECT_LE(s.payload.size(), 1460u);
    EXPECT_EQ(h.payload_out(), pattern(5000));
  }
  {
    TcpHarness h;
    h.establish({.mss = std::nullopt});  // no MSS option: RFC 9293 default 536
    h.host_sends(pattern(2000));
    auto v = h.segs();
    ASSERT_FALSE(v.empty());
    for (const auto& s : v) EXPECT_LE(s.payload.size(), 536u);
    EXPECT_EQ(h.payload_out(), pattern(2000));
  }
}

TEST_F(TcpEstablished, NeverSendsBeyondTheGuestWindow) {
  // Window field 750 with the guest's scale 2: 3000 bytes.
  establish({.mss = 1000, .wscale = 2, .ack_window = 750});
  host_sends(pattern(10000));
  EXPECT_EQ(payload_out(), pattern(3000));
  for (const auto& s : segs()) EXPECT_LE(s.seq - (iss + 1) + s.payload.size(), 3000u);
  ack(iss + 1 + 1000);  // the window slides by 1000
  EXPECT_EQ(payload_out(), pattern(1000, 3000));
  auto v = segs();
  ASSERT_FALSE(v.empty());
  EXPECT_EQ(v[0].seq, iss + 1 + 3000);
}

TEST_F(TcpEstablished, GuestAckFreesTheBufferAndRearmsReceive) {
  establish({.mss = 60000, .wscale = 7});
  readable();
  ASSERT_TRUE(recv_span);
  ASSERT_EQ(recv_span->size(), TcpEngine::kQueueBytes);
  host_sends(pattern(kQueue));
  EXPECT_EQ(payload_out(), pattern(kQueue));
  EXPECT_EQ(count<TcpRecv>() + count<TcpPoll>(), 0u) << "buffer full until the guest acknowledges";

  ack(iss + 1 + 60000);
  auto r = ops<TcpRecv>();
  ASSERT_EQ(r.size(), 1u) << "acknowledged bytes made room";
  EXPECT_GT(r[0].into.size(), 0u);
  EXPECT_LE(r[0].into.size(), 60000u);
  const std::string more = pattern(r[0].into.size(), kQueue);
  host_sends(more);
  auto v = segs();
  ASSERT_FALSE(v.empty());
  EXPECT_EQ(v[0].seq, iss + 1 + kQueue);
  EXPECT_EQ(payload_out(), more);
}

TEST_F(TcpEstablished, HostSequenceNumbersWrapAround) {
  // netd picks its ISN unpredictably: open connections until one starts
  // within 4 MiB of the 2^32 wrap (about one in a thousand; the chance of
  // 50000 misses is ~e^-48), then stream across the wrap.
  constexpr uint32_t kReach = 4u << 20;
  bool found = false;
  for (int attempt = 0; attempt < 50000 && !found; ++attempt) {
    syn({.mss = 65000, .wscale = 7});
    connected();
    auto sa = only_seg();
    ASSERT_TRUE(sa);
    const uint32_t to_wrap = 0u - (sa->seq + 1);
    if (to_wrap > 0 && to_wrap < kReach) {
      found = true;
      iss = sa->seq;
      synced = true;
      g_ack = iss + 1;
      ack();
      ASSERT_EQ(state(), TcpState::Established);
    } else {
      rst();
      drain_cancelled();
      ASSERT_EQ(conns(), 0u);
    }
  }
  ASSERT_TRUE(found);

  uint32_t next = iss + 1;
  for (size_t streamed = 0; streamed < kReach + kQueue; streamed += kQueue) {
    const std::string chunk = pattern(kQueue, streamed);
    host_sends(chunk);
    for (const auto& s : segs()) {
      ASSERT_EQ(s.seq, next) << "after " << streamed << " bytes";
      next += static_cast<uint32_t>(s.payload.size());
    }
    EXPECT_TRUE(payload_out() == chunk) << "after " << streamed << " bytes";
    ack(next);  // numerically below snd_una once past the wrap
    EXPECT_TRUE(out.to_tap.empty());
    EXPECT_EQ(count<TcpPoll>(), 1u) << "everything acknowledged: buffer freed, back to polling";
  }
  EXPECT_LT(next, iss + 1) << "the stream crossed 2^32";
  host_eof();
  auto f = only_seg();
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->has(kFin));
  EXPECT_EQ(f->seq, next);
  ack(next + 1);
  EXPECT_EQ(state(), TcpState::FinWait2);
}

TEST_F(TcpEstablished, RetransmissionTimerResendsFromSndUnaWithBackoff) {
  establish({.mss = 1000});
  host_sends(pattern(2000));
  ASSERT_EQ(segs().size(), 2u);
  now += milliseconds(50);
  ack(iss + 1 + 1000);  // the second segment is lost
  const Time t1 = now;
  const auto rto = TcpEngine::kInitialRto;

  timer_at(t1 + rto - milliseconds(1));
  EXPECT_TRUE(out.to_tap.empty());
  timer_at(t1 + rto);
  auto r = only_seg();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->seq, iss + 1 + 1000) << "from snd_una";
  EXPECT_EQ(r->payload, pattern(1000, 1000));
  EXPECT_EQ(counters().tcp_retransmits, 1u);

  const Time t2 = now;
  timer_at(t2 + 2 * rto - milliseconds(1));
  EXPECT_TRUE(out.to_tap.empty()) << "exponential backoff";
  timer_at(t2 + 2 * rto);
  r = only_seg();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->seq, iss + 1 + 1000);
  EXPECT_EQ(counters().tcp_retransmits, 2u);

  ack(iss + 1 + 2000);
  timer_at(now + TcpEngine::kMaxRto);
  EXPECT_TRUE(out.to_tap.empty()) << "everything acknowledged: no timer";
}

TEST_F(TcpEstablished, ThreeDuplicateAcksTriggerFastRetransmit) {
  establish({.mss = 1000});
  host_sends(pattern(4000));
  ASSERT_EQ(segs().size(), 4u);
  ack(iss + 1 + 1000);
  EXPECT_TRUE(out.to_tap.empty());
  ack();  // duplicate 1
  EXPECT_TRUE(out.to_tap.empty());
  ack();  // duplicate 2
  EXPECT_TRUE(out.to_tap.empty());
  ack();  // duplicate 3
  auto v = segs();
  ASSERT_FALSE(v.empty()) << "fast retransmit without waiting for the timer";
  EXPECT_EQ(v[0].seq, iss + 1 + 1000);
  EXPECT_EQ(v[0].payload, pattern(1000, 1000));
  EXPECT_EQ(counters().tcp_retransmits, 1u);
}

TEST_F(TcpEstablished, ZeroWindowIsProbedWithOneByteOnThePersistTimer) {
  establish({.mss = 1000, .ack_window = 0});
  const Time t0 = now;
  host_sends("abcdef");
  EXPECT_TRUE(out.to_tap.empty()) << "zero window: nothing may be sent";

  timer_at(t0 + TcpEngine::kInitialRto);
  auto p = only_seg();
  ASSERT_TRUE(p) << "persist probe";
  EXPECT_EQ(p->seq, iss + 1);
  EXPECT_EQ(p->payload, "a");

  ack(iss + 1, 0);  // the guest drops the probe: still no room
  EXPECT_TRUE(out.to_tap.empty());
  const Time t1 = now;
  timer_at(t1 + 2 * TcpEngine::kInitialRto - milliseconds(1));
  EXPECT_TRUE(out.to_tap.empty()) << "probes back off";
  timer_at(t1 + 2 * TcpEngine::kInitialRto);
  p = only_seg();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->seq, iss + 1);
  EXPECT_EQ(p->payload.size(), 1u);

  ack(iss + 1, 1000);  // window update
  EXPECT_EQ(payload_out(), "abcdef");
  auto v = segs();
  ASSERT_FALSE(v.empty());
  EXPECT_EQ(v[0].seq, iss + 1);
}

// The probe byte counts as sent: when the guest takes it and acknowledges
// it, the stream moves on from the byte after it.
TEST_F(TcpEstablished, ZeroWindowProbeAcceptedByTheGuestMovesTheStreamOn) {
  establish({.mss = 1000, .ack_window = 0});
  const Time t0 = now;
  host_sends("abcdef");
  timer_at(t0 + TcpEngine::kInitialRto);
  auto p = only_seg();
  ASSERT_TRUE(p);
  ASSERT_EQ(p->payload, "a");
  ack(iss + 2, 1000);  // the guest took the probe byte and has room again
  auto v = segs();
  ASSERT_FALSE(v.empty());
  EXPECT_EQ(v[0].seq, iss + 2);
  EXPECT_EQ(payload_out(), "bcdef");
}

// RFC 1122 4.2.2.17: a zero window is probed for as long as the guest
// answers the probes; the retry limit is for a guest that stopped answering.
TEST_F(TcpEstablished, ZeroWindowPersistsAsLongAsTheGuestAnswersProbes) {
  establish({.mss = 1000, .ack_window = 0});
  host_sends("abcdef");
  int probes = 0;
  for (int i = 0; i < 200 && probes < 3 * TcpEngine::kMaxRetries; ++i) {
    auto d = stack.next_deadline();
    ASSERT_TRUE(d);
    timer_at(*d);
    for (const auto& s : segs()) {
      ASSERT_FALSE(s.has(kRst)) << "reset after " << probes << " answered probes";
      if (s.payload.size() == 1) ++probes;
    }
    ASSERT_EQ(count<CloseSocket>(), 0u);
    ack(iss + 1, 0);  // answered: still no room
  }
  EXPECT_EQ(probes, 3 * TcpEngine::kMaxRetries);
  EXPECT_EQ(state(), TcpState::Established);
}

TEST_F(TcpEstablished, UnansweredRetransmissionsGiveUpWithRst) {
  establish({.mss = 1000});
  host_sends("are you there?");
  int retransmits = 0;
  bool reset = false;
  for (int i = 0; i < 100 && !reset; ++i) {
    auto d = stack.next_deadline();
    ASSERT_TRUE(d);
    timer_at(*d);
    for (const auto& s : segs()) {
      if (s.has(kRst)) reset = true;
      else if (s.payload == "are you there?") ++retransmits;
    }
  }
  ASSERT_TRUE(reset);
  EXPECT_EQ(retransmits, TcpEngine::kMaxRetries);
  auto cs = ops<CloseSocket>();
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_TRUE(cs[0].abort);
  EXPECT_FALSE(state().has_value());
  drain_cancelled();
  EXPECT_EQ(conns(), 0u);
}

TEST_F(TcpEstablished, SynOnTheConnectionGetsAChallengeAck) {
  establish();
  data("abc");
  feed(spec(isn + 77777, kSyn));
  auto a = only_seg();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->flags, kAck);
  EXPECT_EQ(a->ack, isn + 1 + 3);
  EXPECT_EQ(state(), TcpState::Established);
}

TEST_F(TcpEstablished, GuestRstAbortsTheSocket) {
  establish();
  expect_guest_rst_aborts();
}

}  // namespace
}  // namespace tcp_test
}  // namespace netd::tap
