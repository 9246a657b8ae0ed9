// The harness of the TCP engine's tests (tests/unit/tap/tcp_*_test.cpp, one
// file per connection state): one Stack, a fake clock, and both ends of a
// connection played by the test.
//
// No sockets, no clock, no sleeping (the engines do no I/O): guest segments
// are built with the wire builders and fed through Stack::on_frame; the test
// plays the host socket through Stack::on_tcp_* and the clock through
// Stack::on_timer(now). Assertions read the Actions back: frames to the guest
// are parsed with the wire views (checksums verified), host requests are
// inspected, and the state comes from TcpEngine::state_of().
//
// Playing the host socket follows the engine's contract: a TcpRecv span is
// engine memory the "kernel" writes into before on_tcp_received(count); a
// TcpSend span holds the bytes the socket would get, and on_tcp_sent(count)
// says how many it took (partial writes included). Every request in flight
// is completed (with -ECANCELED after a close) before a connection may go.
//
// Suites are the connection's state when the tested event happens, one file
// each: TcpConnecting, TcpSynReceived, TcpSynSent (published ports: netd
// opens towards the guest), TcpEstablished (guest -> host and host ->
// guest), TcpCloseWait, TcpFinWait (FinWait1/FinWait2/Closing), TcpLastAck,
// TcpClosed (aborts, resets, I/O draining after close) and TcpNoConnection
// (segments for no connection, policy, limits), plus TcpDnsStream (DNS over
// TCP to the DNS address).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tap/stack.h"
#include "tap/tcp_engine.h"
#include "tap/wire/builder.h"
#include "tap/wire/checksum.h"
#include "tap/wire/ethernet.h"
#include "tap/wire/icmp.h"
#include "tap/wire/ipv4.h"
#include "tap/wire/tcp.h"

namespace netd::tap {

// Readable state names in gtest failure messages (found by ADL).
inline void PrintTo(TcpState s, std::ostream* os) { *os << to_string(s); }

namespace tcp_test {

using wire::Ipv4Addr;
using wire::MacAddr;

constexpr uint8_t kFin = wire::kTcpFin;
constexpr uint8_t kSyn = wire::kTcpSyn;
constexpr uint8_t kRst = wire::kTcpRst;
constexpr uint8_t kPsh = wire::kTcpPsh;
constexpr uint8_t kAck = wire::kTcpAck;

inline const MacAddr kGuestMac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
inline const Ipv4Addr kGuest = Ipv4Addr::from_octets(10, 0, 2, 100);
inline const Ipv4Addr kGateway = Ipv4Addr::from_octets(10, 0, 2, 2);
inline const Ipv4Addr kWorld = Ipv4Addr::from_octets(198, 51, 100, 10);
constexpr uint16_t kGuestPort = 40000;
constexpr uint16_t kServerPort = 80;
constexpr uint32_t kQueue = static_cast<uint32_t>(TcpEngine::kQueueBytes);

// Deterministic, non-repeating-looking bytes: pattern(n, from) is the slice
// [from, from + n) of one long stream, so slices concatenate.
inline std::string pattern(size_t n, size_t from = 0) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(((from + i) * 131 + 7) % 251);
  return s;
}
inline std::span<const std::byte> as_bytes(std::string_view s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}
inline std::string as_string(std::span<const std::byte> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// A TCP segment netd sent to the guest, parsed back through the wire views.
struct Seg {
  MacAddr eth_dst;
  Ipv4Addr src, dst;
  uint16_t sport = 0, dport = 0;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;
  wire::TcpOptions opts;
  std::string payload;
  bool has(uint8_t f) const { return (flags & f) == f; }
};

// Parses a frame to the guest as Ethernet/IPv4/TCP with a valid checksum
// (headers and the payload the frame points at, as the tap gets them).
inline std::optional<Seg> parse_tcp(const Frame& frame) {
  const std::vector<std::byte> f = frame.flat();
  auto eth = wire::EthernetView::parse(f);
  if (!eth) return std::nullopt;
  auto ip = wire::Ipv4View::parse(eth->payload());
  if (!ip || ip->protocol() != wire::IpProto::Tcp) return std::nullopt;
  auto l4 = ip->payload();
  // With tap offloads the checksum is left to the guest's "hardware".
  auto tcp = frame.offload.csum_partial
                 ? wire::TcpView::parse_checksum_offloaded(l4)
                 : wire::TcpView::parse(l4, wire::ipv4_pseudo_header(ip->src(), ip->dst(), wire::IpProto::Tcp,
                                                                      static_cast<uint16_t>(l4.size())));
  if (!tcp) return std::nullopt;
  Seg s;
  s.eth_dst = eth->dst();
  s.src = ip->src();
  s.dst = ip->dst();
  s.sport = tcp->src_port();
  s.dport = tcp->dst_port();
  s.seq = tcp->seq().value();
  s.ack = tcp->ack().value();
  s.flags = tcp->flags();
  s.window = tcp->window();
  s.opts = tcp->options();
  s.payload = as_string(tcp->payload());
  return s;
}

inline StackConfig test_config(uint32_t mtu = 65520) {
  auto c = StackConfig::from_cidr("10.0.2.0/24");
  EXPECT_TRUE(c.has_value());
  c->mtu = mtu;
  c->tap_offload = false;  // plain frames with full checksums, one segment per frame
  c->tcp_max_connecting = TcpEngine::kMaxConns;  // ConnectionLimit* tests fill the table with SYNs
  return *c;
}

// What the guest puts in its SYN, and the window of its handshake ACK.
struct SynOpts {
  std::optional<uint16_t> mss = 1460;
  std::optional<uint8_t> wscale;
  uint16_t window = 65535;      // SYN window field (never scaled)
  uint16_t ack_window = 65535;  // window field of the handshake ACK (scaled by wscale)
};

// One Stack, a fake clock, and both ends of one connection played by the test.
class TcpHarness {
 public:
  explicit TcpHarness(const StackConfig& cfg = test_config()) : stack(cfg) {}

  Stack stack;
  Time now{seconds(1000)};
  Actions out;  // what the last driver call produced (each call clears it first)

  // ---- the guest ----
  Ipv4Addr dst = kWorld;
  uint16_t gport = kGuestPort;
  uint16_t dport = kServerPort;
  uint32_t isn = 1000;     // the guest's initial sequence number
  uint32_t g_nxt = 0;      // the guest's next sequence number
  uint32_t g_ack = 0;      // what the guest acknowledges
  uint16_t g_win = 65535;  // the guest's window field in non-SYN segments
  bool synced = false;     // the guest got the SYN-ACK (its segments carry ACK)
  Frame last_frame;        // the last frame the guest sent

  // ---- netd, as learned from its SYN-ACK ----
  uint32_t iss = 0;
  std::optional<uint8_t> our_wscale;

  // ---- the host socket: requests in flight ----
  FlowId flow = 0;
  bool connect_pending = false;
  bool polling = false;
  std::optional<std::span<std::byte>> recv_span;
  std::optional<std::span<const std::byte>> send_span;

  FlowKey key() const { return {kGuest, gport, dst, dport}; }
  std::optional<TcpState> state() const { return stack.tcp().state_of(key()); }
  size_t conns() const { return stack.tcp_conns(); }
  const Counters& counters() const { return stack.counters(); }

  // ---- driving the guest ----
  wire::TcpSegmentSpec spec(uint32_t seq, uint8_t flags) const {
    wire::TcpSegmentSpec s{};
    s.sport = gport;
    s.dport = dport;
    s.seq = wire::SeqNum(seq);
    if (flags & kAck) s.ack = wire::SeqNum(g_ack);
    s.flags = flags;
    s.window = g_win;
    return s;
  }
  void feed(const wire::TcpSegmentSpec& s, std::string_view payload = {}) {
    wire::IpHeader h{.src = kGuest, .dst = dst, .proto = wire::IpProto::Tcp};
    last_frame = wire::build_ip_tcp({kGuestMac, stack.config().gateway_mac}, h, s, as_bytes(payload));
    ASSERT_FALSE(last_frame.empty());
    run([&] { stack.on_frame(now, last_frame, out); });
  }
  void syn(const SynOpts& o = {}) {
    auto s = spec(isn, kSyn);
    s.window = o.window;
    s.mss = o.mss;
    s.wscale = o.wscale;
    feed(s);
    g_nxt = isn + 1;
  }
  void ack() { feed(spec(g_nxt, kAck)); }
  void ack(uint32_t ackno) {
    g_ack = ackno;
    ack();
  }
  void ack(uint32_t ackno, uint16_t window) {
    g_win = window;
    ack(ackno);
  }
  // In-order data (optionally with FIN) at g_nxt.
  void data(std::string_view d, uint8_t extra_flags = 0) {
    feed(spec(g_nxt, kAck | kPsh | extra_flags), d);
    g_nxt += static_cast<uint32_t>(d.size()) + ((extra_flags & kFin) ? 1 : 0);
  }
  // Data at an explicit sequence number; g_nxt is left alone.
  void data_at(uint32_t seq, std::string_view d) { feed(spec(seq, kAck | kPsh), d); }
  void fin() {
    feed(spec(g_nxt, kFin | kAck));
    g_nxt += 1;
  }
  void rst() { feed(spec(g_nxt, synced ? kRst | kAck : kRst)); }

  // SYN, connect success, SYN-ACK, handshake ACK. Leaves `out` empty (the
  // TcpPoll armed at connect time is remembered in `polling`).
  void establish(const SynOpts& o = {}) {
    syn(o);
    connected();
    auto sa = only_seg();
    ASSERT_TRUE(sa.has_value());
    ASSERT_TRUE(sa->has(kSyn | kAck));
    iss = sa->seq;
    our_wscale = sa->opts.window_scale;
    synced = true;
    g_ack = iss + 1;
    g_win = o.ack_window;
    ack();
    ASSERT_EQ(state(), TcpState::Established);
    out.clear();
  }

  // ---- playing the host socket ----
  void connected(int err = 0) {
    connect_pending = false;
    run([&] { stack.on_tcp_connected(now, flow, err, out); });
  }
  void readable(int err = 0) {
    polling = false;
    run([&] { stack.on_tcp_readable(now, flow, err, out); });
  }
  void received(int res) {
    recv_span.reset();
    run([&] { stack.on_tcp_received(now, flow, res, out); });
  }
  void sent(int res) {
    send_span.reset();
    run([&] { stack.on_tcp_sent(now, flow, res, out); });
  }
  // Bytes arrive from the peer: readable first if only a poll is armed, then
  // the "kernel" copies them into the TcpRecv buffer.
  void host_sends(std::string_view d) {
    if (!recv_span && polling) readable();
    ASSERT_TRUE(recv_span.has_value()) << "no TcpRecv in flight";
    ASSERT_GE(recv_span->size(), d.size());
    std::memcpy(recv_span->data(), d.data(), d.size());
    received(static_cast<int>(d.size()));
  }
  // The peer shut down its side: the receive returns 0.
  void host_eof() {
    if (!recv_span && polling) readable();
    ASSERT_TRUE(recv_span.has_value()) << "no TcpRecv in flight";
    received(0);
  }
  // The socket takes the first n bytes of the TcpSend in flight; returns them.
  std::string host_takes(size_t n = SIZE_MAX) {
    if (!send_span) {
      ADD_FAILURE() << "no TcpSend in flight";
      return {};
    }
    n = std::min(n, send_span->size());
    std::string got = as_string(send_span->first(n));
    sent(static_cast<int>(n));
    return got;
  }
  // Completes every request in flight with -ECANCELED, as the loop does after
  // CloseSocket; none of these completions may produce anything.
  void drain_cancelled() {
    for (int guard = 0; guard < 8; ++guard) {
      if (connect_pending) connected(-ECANCELED);
      else if (polling) readable(-ECANCELED);
      else if (recv_span) received(-ECANCELED);
      else if (send_span) sent(-ECANCELED);
      else return;
      EXPECT_TRUE(out.to_tap.empty());
      EXPECT_TRUE(out.to_host.empty());
    }
  }

  // ---- the clock ----
  void timer_at(Time t) {
    now = t;
    run([&] { stack.on_timer(now, out); });
  }
  // The time a lone data segment's ACK may wait for an answer runs out.
  void ack_delay_passes() {
    ASSERT_TRUE(stack.next_deadline().has_value());
    EXPECT_LE(*stack.next_deadline(), now + TcpEngine::kAckDelay) << "the loop would not wake in time";
    timer_at(now + TcpEngine::kAckDelay);
  }

  // ---- reading `out` ----
  std::vector<Seg> segs() const {
    std::vector<Seg> v;
    for (const auto& f : out.to_tap) {
      auto s = parse_tcp(f);
      if (!s) ADD_FAILURE() << "a frame to the guest is not a valid TCP segment";
      else v.push_back(*s);
    }
    return v;
  }
  std::optional<Seg> only_seg() const {
    auto v = segs();
    if (v.size() != 1) {
      ADD_FAILURE() << "expected exactly one segment to the guest, got " << v.size();
      return std::nullopt;
    }
    return v[0];
  }
  // All payload bytes sent to the guest, in order of emission.
  std::string payload_out() const {
    std::string all;
    for (const auto& s : segs()) all += s.payload;
    return all;
  }
  template <class T>
  std::vector<T> ops() const {
    std::vector<T> v;
    for (const auto& op : out.to_host)
      if (auto* p = std::get_if<T>(&op)) v.push_back(*p);
    return v;
  }
  template <class T>
  size_t count() const {
    return ops<T>().size();
  }

  // Guest RST: the socket is aborted, the guest gets nothing back, the key is
  // forgotten at once, and the connection itself once its I/O has drained.
  void expect_guest_rst_aborts() {
    rst();
    auto cs = ops<CloseSocket>();
    ASSERT_EQ(cs.size(), 1u);
    EXPECT_EQ(cs[0].flow, flow);
    EXPECT_TRUE(cs[0].abort);
    EXPECT_TRUE(out.to_tap.empty()) << "a RST is never answered";
    EXPECT_FALSE(state().has_value());
    drain_cancelled();
    EXPECT_EQ(conns(), 0u);
  }

  // Runs one driver step: clears `out`, calls f, records the host requests.
  template <class F>
  void run(F&& f) {
    out.clear();
    f();
    for (const auto& op : out.to_host) {
      if (auto* c = std::get_if<TcpConnect>(&op)) {
        flow = c->flow;
        connect_pending = true;
      } else if (auto* r = std::get_if<TcpRecv>(&op)) {
        recv_span = r->into;
      } else if (auto* s = std::get_if<TcpSend>(&op)) {
        send_span = s->data;
      } else if (std::holds_alternative<TcpPoll>(op)) {
        polling = true;
      }
    }
  }
};

class TcpTest : public ::testing::Test, public TcpHarness {};
class TcpConnecting : public TcpTest {};
class TcpSynReceived : public TcpTest {};
class TcpEstablished : public TcpTest {};
class TcpCloseWait : public TcpTest {};
class TcpFinWait : public TcpTest {};
class TcpLastAck : public TcpTest {};
class TcpClosed : public TcpTest {};
class TcpSynSent : public TcpTest {
 protected:
  // A published port accepted a connection from the world host: netd opens
  // towards the guest's port 8080 (the harness plays the guest).
  std::optional<FlowId> inbound(Ipv4Addr client = kWorld, uint16_t cport = 51000) {
    std::optional<FlowId> f;
    dst = client == Ipv4Addr::from_octets(127, 0, 0, 1) ? kGateway : client;
    dport = cport;
    gport = 8080;
    run([&] { f = stack.on_tcp_inbound(now, client, cport, 8080, out); });
    if (f) flow = *f;
    return f;
  }
};
class TcpNoConnection : public TcpTest {};

}  // namespace tcp_test
}  // namespace netd::tap
