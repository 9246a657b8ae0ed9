// TCP translation: guest connections become host stream sockets.
//
// Theory of operation. netd does not run a second TCP stack: the host kernel
// does the real TCP towards the peer, and netd speaks just enough TCP towards
// the guest to move bytes between the guest and that socket.
//
//  * Open: a guest SYN creates a TcpConn and a TcpConnect request. The SYN-ACK
//    goes out only once the host socket is connected; a refused connect
//    becomes a RST, an unreachable destination the matching ICMP error, a
//    connect that does not finish in kConnectTimeout a RST.
//  * Guest -> host: in-order guest data is appended to a bounded queue
//    (to_host) and written to the socket by one TcpSend at a time (so partial
//    writes cannot reorder bytes). The queue is an extension of the socket's
//    send buffer: data is acknowledged once it is in the queue, and the
//    window advertised to the guest is the queue's free space, so a host peer
//    that stops reading closes the guest's window (zero window) and a slow
//    reader slows the guest. A segment that arrives early (after a hole) is
//    answered with a duplicate ACK and kept aside, if the queue could take
//    it once the hole is filled and up to kMaxEarlyBytes (no SACK: the guest only learns of the
//    hole); when the hole is filled the kept bytes follow at once. A tap
//    straight to the guest's stack never reorders, but a namespace that
//    forwards (a rootless netns routing to its bridge) does, and without
//    this the guest would fall back to its retransmission timer each time.
//    Acknowledgments of in-order data may wait a little (delayed ACK, RFC
//    9293 3.8.6.3): the first segment after an ACK is acknowledged within
//    kAckDelay, by the answer's own segment if the host peer answers in
//    time (request/response: one frame to the guest instead of two, and no
//    tap write before the request reaches the host). A lone FIN waits the
//    same way for our own FIN (the host peer closing in turn); a second
//    segment, a full queue or an out-of-order segment is acknowledged at once.
//  * Host -> guest: the socket is read into from_host (a TcpRecv into the
//    ring; an idle connection only has a TcpPoll armed and holds no buffer).
//    Bytes stay in from_host until the guest acknowledges them, which is what
//    retransmission (timer with exponential backoff, or three duplicate ACKs)
//    re-sends from. We never send beyond the guest's advertised window; a
//    zero window is probed with one byte on the persist timer.
//  * Published ports: a connection a host listener accepted comes in through
//    on_inbound(); netd sends the guest a SYN from the client's own address
//    (loopback clients appear as the gateway) and, on the guest's SYN-ACK,
//    the connection continues exactly like an outbound one. A guest RST or
//    no answer resets the host client.
//  * DNS over TCP: a SYN to port 53 of the DNS address connects to the first
//    upstream DNS server (StackConfig::dns_tcp_upstream), which may be on the
//    host's loopback; its bytes from the guest pass only while they continue
//    a stream of standard queries (TcpConn::dns_stream), else both sides are
//    reset and drop_malformed counts it. Its early segments are not kept
//    (the guest retransmits them), so the check sees every byte in order.
//  * Close: a guest FIN is passed on as shutdown(SHUT_WR) once all its data
//    is written; host EOF becomes our FIN after the last byte; a RST from
//    either side aborts the other. A connection is forgotten only when no
//    socket I/O into its buffers is still in flight.
//
// The engine does no I/O and reads no clock (engines take `now` as an argument,
// see docs/architecture.md); every timer is a deadline the loop asks for
// through next_deadline().
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <queue>
#include <unordered_map>
#include <vector>

#include "common/time.h"
#include "tap/actions.h"
#include "tap/byte_ring.h"
#include "tap/engine_context.h"
#include "tap/flow_key.h"
#include "tap/tcp_conn.h"
#include "tap/wire/ip.h"
#include "tap/wire/tcp.h"

namespace netd::tap {

class TcpEngine {
 public:
  static constexpr size_t kMaxConns = 16384;
  static constexpr size_t kQueueBytes = 512 * 1024;  // per direction, per connection
  static constexpr size_t kMaxEarlyBytes = kQueueBytes;  // kept out-of-order bytes, per connection
  static constexpr size_t kMaxEarlySegments = 128;
  static constexpr Duration kConnectTimeout = seconds(30);
  static constexpr Duration kInitialRto = milliseconds(200);
  // How long the ACK of a lone data segment may wait for an answer to ride
  // on. Long enough for a host peer on this machine to answer under load;
  // short next to the guest's RTO (200 ms minimum), and a guest that holds
  // back small writes for the ACK (Nagle) waits at most this.
  static constexpr Duration kAckDelay = microseconds(500);
  static constexpr Duration kMaxRto = seconds(10);
  static constexpr int kMaxRetries = 10;
  static constexpr int kMaxSynRetries = 5;  // published ports: ~6 s until the client is reset
  static constexpr uint8_t kOurWindowScale = 7;
  // Largest TCP payload of one IPv4 packet (IPv6 could carry 20 bytes more;
  // one limit keeps it simple): with tap offloads netd sends super-segments
  // this large and the guest kernel takes them as GSO.
  static constexpr size_t kMaxSuperSegment = 65535 - 20 - 20;

  TcpEngine(EngineContext& ctx, FlowId& next_flow);
  ~TcpEngine();

  // A parsed segment from the guest.
  void on_guest_segment(Time now, const wire::IpView& ip, const wire::TcpView& tcp, Actions& out);

  // A published port accepted a host connection from peer:peer_port (as the
  // guest will see it) for guest:guest_port. Starts the handshake towards the
  // guest and returns the new flow, whose socket is the accepted one (already
  // connected), or nullopt when the connection must be refused (limit, or
  // that 4-tuple in use).
  std::optional<FlowId> on_inbound(Time now, const wire::IpAddr& peer, uint16_t peer_port,
                                   const wire::IpAddr& guest, uint16_t guest_port, Actions& out);

  // Results of the requests in Actions, by flow. err/res are -errno on failure.
  void on_connected(Time now, FlowId flow, int err, Actions& out);
  void on_readable(Time now, FlowId flow, int err, Actions& out);
  void on_received(Time now, FlowId flow, int res, Actions& out);
  void on_sent(Time now, FlowId flow, int res, Actions& out);

  std::optional<Time> next_deadline() const;
  void on_timer(Time now, Actions& out);
  // Gives connections starved by the memory budget their turn once chunks are
  // free again; the Stack calls it after every TCP event.
  void feed_starved(Actions& out);

  size_t conn_count() const { return conns_.size(); }
  // For tests: the state of the connection with this guest 4-tuple.
  std::optional<TcpState> state_of(const FlowKey& k) const;
  // Enables `A -> B` traces of every state change at debug level.
  static void set_trace(bool on);

 private:
  TcpConn* find(FlowId id);
  // Start of every host-socket result: marks the operation done (`done`) and
  // returns the connection, or nullptr when it is gone or Closed (a closed
  // one is freed by its last completion).
  TcpConn* complete(FlowId flow, void (*done)(TcpConn&));
  void set_state(TcpConn& c, TcpState to);

  void on_new_segment(Time now, const wire::IpView& ip, const wire::TcpView& tcp, Actions& out);
  void on_syn_sent_segment(Time now, TcpConn& c, const wire::TcpView& tcp, Actions& out);
  void on_ack(Time now, TcpConn& c, const wire::IpView& ip, const wire::TcpView& tcp, Actions& out);
  void on_data(Time now, TcpConn& c, const wire::TcpView& tcp, Actions& out);
  // Keeps an early segment (seq beyond rcv_nxt) if it fits the window and the limits.
  // DNS over TCP: true if `data` (the next in-order guest bytes) may go on;
  // else the connection is reset and counted.
  bool dns_stream_accepts(TcpConn& c, std::span<const std::byte> data, Actions& out);
  void keep_early(TcpConn& c, wire::SeqNum seq, std::span<const std::byte> data, bool fin);
  // Appends kept segments that are in order now; true if a kept FIN was reached.
  bool take_early(TcpConn& c);

  // Sends what the guest's window allows from from_host, then FIN if due.
  void push_to_guest(Time now, TcpConn& c, Actions& out);
  // Issues the next TcpSend / TcpShutdown for queued guest data.
  void pump_to_host(TcpConn& c, Actions& out);
  // Arms a TcpPoll or TcpRecv if the connection wants host data and has room.
  void pump_from_host(TcpConn& c, Actions& out);

  void send_segment(TcpConn& c, wire::SeqNum seq, uint8_t flags, std::span<const std::byte> payload,
                    bool syn_options, Actions& out);
  void send_ack(TcpConn& c, Actions& out);
  // Acknowledges in-order guest data: at once if `now_please` or a segment
  // already waits for its ACK, else within kAckDelay (ack_due_).
  void acknowledge(Time now, TcpConn& c, bool now_please, Actions& out);
  void send_rst_for(const wire::IpView& ip, const wire::TcpView& tcp, Actions& out);
  uint16_t window_field(TcpConn& c);
  // The largest segment the tap's MTU allows in the connection's family.
  uint32_t mss_limit(const FlowKey& k) const;
  static uint16_t default_mss(const FlowKey& k);

  void arm_timer(Time now, TcpConn& c, Duration after);
  void disarm_timer(TcpConn& c) { c.rto_armed = false; ++c.timer_gen; }
  void on_conn_timer(Time now, TcpConn& c, Actions& out);

  // Ends the connection: RST to the guest if `rst_guest`, abort or close the
  // socket, Closed state; freed once its I/O has drained.
  void close(TcpConn& c, bool rst_guest, bool abort_host, Actions& out);
  // Closes the connection if both directions have finished; true if it did.
  bool maybe_finish(TcpConn& c, Actions& out);
  void maybe_free(TcpConn& c);

  EngineContext& ctx_;
  FlowId& next_flow_;
  ChunkPool pool_;
  size_t connecting_ = 0;  // TcpConnect requests in flight (the cfg's tcp_max_connecting)
  // Connections that wanted a ring chunk while the pool's budget was spent;
  // fed (pump_from_host / window update) as chunks come back.
  std::deque<FlowId> starved_;
  void starve(TcpConn& c);
  std::unordered_map<FlowId, std::unique_ptr<TcpConn>> conns_;
  std::unordered_map<FlowKey, FlowId, FlowKeyHash> by_key_;
  // Connections freed during the current event; destroyed at the next one,
  // so code up the call stack may still read their (Closed) state.
  std::vector<std::unique_ptr<TcpConn>> graveyard_;

  struct TimerEntry {
    Time at;
    FlowId flow;
    uint64_t gen;
    bool operator>(const TimerEntry& o) const { return at > o.at; }
  };
  // Entries go stale when a timer is re-armed or disarmed (every ACK of the
  // guest's does one); next_deadline() drops stale ones from the front, so
  // the loop never wakes for a deadline that no longer exists (request/
  // response traffic left one behind per exchange: a wake-up per exchange).
  // Mutable: dropping them changes nothing the engine will do.
  mutable std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<>> timers_;
  // Delayed ACKs, in deadline order (every one waits kAckDelay). An entry
  // whose connection already sent its ACK (or is gone) is skipped.
  struct AckDue {
    Time at;
    FlowId flow;
  };
  mutable std::deque<AckDue> ack_due_;
  // True while `e` still stands for the connection's armed timer / pending ACK.
  bool live(const TimerEntry& e) const;
  bool live(const AckDue& e) const;
  uint32_t isn_state_;
};

}  // namespace netd::tap
