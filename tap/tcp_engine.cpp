#include "tap/tcp_engine.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

#include "common/log.h"
#include "tap/address_map.h"
#include "tap/wire/arp.h"
#include "tap/wire/builder.h"
#include "tap/wire/ethernet.h"
#include "tap/wire/icmp.h"

namespace netd::tap {

namespace {
bool g_trace = false;

bool accepts_guest_data(TcpState s) {
  return s == TcpState::Established || s == TcpState::FinWait1 || s == TcpState::FinWait2;
}
bool sends_host_data(TcpState s) { return s == TcpState::Established || s == TcpState::CloseWait; }
}  // namespace

const char* to_string(TcpState s) {
  switch (s) {
    case TcpState::Connecting: return "Connecting";
    case TcpState::SynSent: return "SynSent";
    case TcpState::SynReceived: return "SynReceived";
    case TcpState::Established: return "Established";
    case TcpState::CloseWait: return "CloseWait";
    case TcpState::FinWait1: return "FinWait1";
    case TcpState::FinWait2: return "FinWait2";
    case TcpState::Closing: return "Closing";
    case TcpState::LastAck: return "LastAck";
    case TcpState::Closed: return "Closed";
  }
  return "?";
}

void TcpEngine::set_trace(bool on) { g_trace = on; }

TcpEngine::TcpEngine(EngineContext& ctx, FlowId& next_flow)
    : ctx_(ctx),
      next_flow_(next_flow),
      pool_(kQueueBytes, 64, std::max<size_t>(2, ctx.cfg.tcp_buffer_budget / kQueueBytes)),
      isn_state_(std::random_device{}()) {}

TcpEngine::~TcpEngine() = default;

TcpConn* TcpEngine::find(FlowId id) {
  auto it = conns_.find(id);
  return it == conns_.end() ? nullptr : it->second.get();
}

std::optional<TcpState> TcpEngine::state_of(const FlowKey& k) const {
  auto it = by_key_.find(k);
  if (it == by_key_.end()) return std::nullopt;
  return conns_.at(it->second)->state;
}

void TcpEngine::set_state(TcpConn& c, TcpState to) {
  if (c.state == to) return;
  if (g_trace) {
    LOG_DEBUG("tcp %s:%u -> %s:%u: %s -> %s", c.key.guest_ip.to_string().c_str(), c.key.guest_port,
              c.key.dst_ip.to_string().c_str(), c.key.dst_port, to_string(c.state), to_string(to));
  }
  c.state = to;
}

// ---- guest segments ---------------------------------------------------------

void TcpEngine::on_guest_segment(Time now, const wire::IpView& ip, const wire::TcpView& tcp,
                                 Actions& out) {
  graveyard_.clear();
  FlowKey key{ip.src(), tcp.src_port(), ip.dst(), tcp.dst_port()};
  auto it = by_key_.find(key);
  if (it == by_key_.end()) {
    on_new_segment(now, ip, tcp, out);
    return;
  }
  TcpConn& c = *conns_.at(it->second);

  if (c.state == TcpState::SynSent) {
    on_syn_sent_segment(now, c, tcp, out);
    return;
  }
  if (tcp.rst()) {
    // Accept a RST anywhere in the receive window (RFC 5961 would ask for an
    // exact match plus challenge ACKs; the guest is not an off-path attacker).
    close(c, false, true, out);
    return;
  }
  if (tcp.syn()) {
    if (c.state == TcpState::SynReceived && tcp.seq() + 1 == c.rcv_nxt) {
      // The guest did not get our SYN-ACK: send it again.
      send_segment(c, c.iss, wire::kTcpSyn | wire::kTcpAck, {}, true, out);
    } else if (c.state != TcpState::Connecting) {
      send_ack(c, out);  // challenge ACK for a SYN on a synchronized connection
    }
    return;  // Connecting: the SYN-ACK follows when the host connect finishes
  }
  if (!tcp.ack_flag()) return;  // every segment after the SYN carries an ACK
  if (c.state == TcpState::Connecting) return;

  on_ack(now, c, ip, tcp, out);
  if (c.state == TcpState::Closed) return;
  on_data(now, c, tcp, out);
  if (c.state == TcpState::Closed) return;
  push_to_guest(now, c, out);
}

void TcpEngine::on_new_segment(Time now, const wire::IpView& ip, const wire::TcpView& tcp, Actions& out) {
  if (tcp.rst()) return;
  if (!tcp.syn() || tcp.ack_flag()) {
    send_rst_for(ip, tcp, out);  // no such connection
    return;
  }
  const StackConfig& cfg = ctx_.cfg;
  std::optional<wire::IpAddr> host;
  uint16_t host_port = tcp.dst_port();
  const bool dns = cfg.is_own(ip.dst()) && ip.dst() == cfg.dns_for(ip.dst()) && host_port == 53;
  if (dns) {
    // DNS over TCP (e.g. a retry of a truncated answer): to the upstream.
    host = cfg.dns_tcp_upstream;
    host_port = cfg.dns_tcp_upstream_port;
  } else {
    host = host_destination(cfg, ip.dst());
  }
  if (!host || tcp.dst_port() == 0) {
    ++ctx_.counters.drop_policy;
    send_rst_for(ip, tcp, out);  // refused, like a closed port
    return;
  }
  if (conns_.size() >= kMaxConns) {
    ++ctx_.counters.tcp_conn_limit;
    send_rst_for(ip, tcp, out);
    return;
  }
  if (connecting_ >= ctx_.cfg.tcp_max_connecting) {
    ++ctx_.counters.tcp_connect_limit;  // a SYN flood to slow destinations
    send_rst_for(ip, tcp, out);
    return;
  }
  FlowId id = next_flow_++;
  FlowKey key{ip.src(), tcp.src_port(), ip.dst(), tcp.dst_port()};
  auto conn = std::make_unique<TcpConn>(id, key, pool_);
  TcpConn& c = *conn;
  conns_.emplace(id, std::move(conn));
  by_key_.emplace(key, id);
  ++ctx_.counters.tcp_conns_opened;
  if (dns) c.dns_stream.emplace();

  auto opts = tcp.options();
  c.rcv_nxt = tcp.seq() + 1;
  // RFC 6528-style: an unpredictable ISN per connection.
  isn_state_ = isn_state_ * 1664525u + 1013904223u;
  c.iss = wire::SeqNum(isn_state_ ^ (key.guest_port * 2654435761u));
  c.snd_una = c.iss;
  c.snd_nxt = c.iss + 1;
  c.mss = static_cast<uint16_t>(std::min<uint32_t>(opts.mss.value_or(default_mss(key)), mss_limit(key)));
  if (opts.window_scale) {
    c.guest_wscale = std::min<uint8_t>(*opts.window_scale, 14);
    c.our_wscale = kOurWindowScale;
  }
  c.guest_window = tcp.window();  // never scaled in a SYN
  c.syn_quote.keep(ip);

  c.connecting = true;
  ++connecting_;
  out.to_host.push_back(TcpConnect{id, *host, host_port});
  arm_timer(now, c, kConnectTimeout);
}

std::optional<FlowId> TcpEngine::on_inbound(Time now, const wire::IpAddr& peer, uint16_t peer_port,
                                            const wire::IpAddr& guest, uint16_t guest_port, Actions& out) {
  graveyard_.clear();
  FlowKey key{guest, guest_port, peer, peer_port};
  if (by_key_.count(key)) return std::nullopt;  // that 4-tuple is in use
  if (conns_.size() >= kMaxConns) {
    ++ctx_.counters.tcp_conn_limit;
    return std::nullopt;
  }
  FlowId id = next_flow_++;
  auto conn = std::make_unique<TcpConn>(id, key, pool_);
  TcpConn& c = *conn;
  conns_.emplace(id, std::move(conn));
  by_key_.emplace(key, id);
  ++ctx_.counters.tcp_conns_opened;
  isn_state_ = isn_state_ * 1664525u + 1013904223u;
  c.iss = wire::SeqNum(isn_state_ ^ (peer_port * 2654435761u));
  c.snd_una = c.iss;
  c.snd_nxt = c.iss + 1;
  c.our_wscale = kOurWindowScale;  // offered; dropped if the guest does not scale
  c.rto = kInitialRto;
  c.state = TcpState::SynSent;
  if (ctx_.guest_mac.is_broadcast() && guest.is_v4()) {
    // The guest has not spoken yet: ask for its MAC; the SYN retransmission
    // will find it (a SYN to the broadcast MAC is not taken by TCP).
    wire::L2Addrs l2{ctx_.cfg.gateway_mac, wire::MacAddr::broadcast()};
    out.to_tap.push_back(wire::build_arp(l2, wire::kArpRequest, ctx_.cfg.gateway_mac, ctx_.cfg.gateway,
                                         wire::MacAddr{}, guest.v4()));
  }
  send_segment(c, c.iss, wire::kTcpSyn, {}, true, out);
  arm_timer(now, c, c.rto);
  return id;
}

void TcpEngine::on_syn_sent_segment(Time now, TcpConn& c, const wire::TcpView& tcp, Actions& out) {
  const bool acks_syn = tcp.ack_flag() && tcp.ack() == c.iss + 1;
  if (tcp.rst()) {
    // The guest refused (nothing listens on that port): the host client gets a reset.
    if (acks_syn) close(c, false, true, out);
    return;
  }
  if (!tcp.syn() || !acks_syn) return;  // anything else is not an answer to our SYN
  auto opts = tcp.options();
  c.rcv_nxt = tcp.seq() + 1;
  if (opts.window_scale) {
    c.guest_wscale = std::min<uint8_t>(*opts.window_scale, 14);
  } else {
    c.our_wscale = 0;  // scaling needs both sides (RFC 7323)
  }
  c.mss = static_cast<uint16_t>(std::min<uint32_t>(opts.mss.value_or(default_mss(c.key)), mss_limit(c.key)));
  c.guest_window = tcp.window();  // never scaled in a SYN
  c.snd_una = tcp.ack();
  c.retries = 0;
  disarm_timer(c);
  set_state(c, TcpState::Established);
  send_ack(c, out);
  pump_from_host(c, out);  // the host client may have sent its request already
  (void)now;
}

void TcpEngine::on_ack(Time now, TcpConn& c, const wire::IpView& ip, const wire::TcpView& tcp,
                       Actions& out) {
  const wire::SeqNum ack = tcp.ack();
  if (c.state == TcpState::SynReceived) {
    if (ack != c.iss + 1) {
      send_rst_for(ip, tcp, out);  // an ACK for something we never sent (RFC 793)
      return;
    }
    c.snd_una = ack;
    c.retries = 0;
    disarm_timer(c);
    set_state(c, TcpState::Established);
  }
  if (ack > c.snd_nxt) {
    send_ack(c, out);  // acknowledges data we never sent: tell it where we are (RFC 793)
    return;
  }

  const uint32_t old_window = c.guest_window;
  c.guest_window = uint32_t{tcp.window()} << c.guest_wscale;
  // A guest that answers our zero-window probes is alive: probing may go on
  // for as long as it keeps its window closed (RFC 1122 4.2.2.17).
  if (c.guest_window == 0) c.retries = 0;
  if (c.probing) {
    // The probe byte counted as sent; if the guest refused it, it is unsent again.
    c.probing = false;
    if (ack == c.snd_una) c.snd_nxt = c.snd_una;
  }

  if (ack > c.snd_una) {
    uint32_t acked = static_cast<uint32_t>(ack - c.snd_una);
    bool fin_acked = c.fin_sent && ack == c.snd_nxt;
    uint32_t data_acked = std::min<uint32_t>(fin_acked ? acked - 1 : acked, static_cast<uint32_t>(c.from_host.size()));
    c.from_host.consume(data_acked, c.rx == TcpConn::Rx::Receiving);
    c.snd_una = ack;
    c.dupacks = 0;
    c.retries = 0;
    c.rto = kInitialRto;
    if (c.snd_una == c.snd_nxt) disarm_timer(c);
    else arm_timer(now, c, c.rto);
    if (fin_acked && c.state == TcpState::FinWait1) set_state(c, TcpState::FinWait2);
    if (fin_acked && maybe_finish(c, out)) return;
    pump_from_host(c, out);  // acknowledged bytes made room
  } else if (ack == c.snd_una && c.snd_nxt != c.snd_una && tcp.payload().empty() && !tcp.fin() &&
             c.guest_window == old_window) {
    if (++c.dupacks == 3) {
      // Fast retransmit: go back to the first unacknowledged byte.
      ++ctx_.counters.tcp_retransmits;
      c.snd_nxt = c.snd_una;
      c.fin_sent = false;
    }
  }
}

void TcpEngine::on_data(Time now, TcpConn& c, const wire::TcpView& tcp, Actions& out) {
  auto data = tcp.payload();
  bool fin = tcp.fin();
  if (data.empty() && !fin) {
    // A window probe while we advertise zero: answer it, so the guest learns
    // when the window opens again.
    if (c.memory_zero_window && accepts_guest_data(c.state)) send_ack(c, out);
    return;
  }
  if (!accepts_guest_data(c.state)) {
    // After its FIN the guest has nothing more to send; retransmissions get an ACK.
    send_ack(c, out);
    return;
  }
  wire::SeqNum seq = tcp.seq();
  if (seq > c.rcv_nxt) {
    ++ctx_.counters.tcp_out_of_order;
    keep_early(c, seq, data, fin);
    send_ack(c, out);  // duplicate ACK: the guest fills the hole
    return;
  }
  if (seq < c.rcv_nxt) {
    uint32_t skip = static_cast<uint32_t>(c.rcv_nxt - seq);
    if (skip > data.size()) {
      // Entirely old (a FIN counts one more): re-acknowledge.
      send_ack(c, out);
      return;
    }
    data = data.subspan(skip);
  }
  // Acknowledged at once (RFC 5681 4.2): a retransmission (our ACK may have
  // been lost), a segment that fills a hole, and data no answer can carry an
  // ACK for any more (the host has finished sending).
  bool ack_now = seq < c.rcv_nxt || !c.early.empty() || c.host_eof || c.fin_sent;
  if (c.dns_stream && !dns_stream_accepts(c, data, out)) return;
  size_t taken = c.to_host.append(data);
  if (c.dns_stream) c.dns_stream->feed(data.first(taken));  // (a prefix of accepted bytes: accepted)
  if (taken < data.size() && !c.to_host.has_storage()) starve(c);  // zero window until memory frees
  c.rcv_nxt += static_cast<uint32_t>(taken);
  ctx_.counters.tcp_bytes_to_host += taken;
  bool fin_reached = fin && taken == data.size();
  if (!fin_reached && taken == data.size()) fin_reached = take_early(c);
  if (fin_reached) {
    c.rcv_nxt += 1;
    c.guest_fin = true;
    switch (c.state) {
      case TcpState::Established: set_state(c, TcpState::CloseWait); break;
      case TcpState::FinWait1: set_state(c, TcpState::Closing); break;
      default: break;  // FinWait2: both FINs are done once the queue drains
    }
  }
  // So is a queue that could not take everything (the guest must learn the
  // window). Other data, and a FIN, may wait for an answer to ride on: the
  // host peer usually closes in turn, and our FIN then acknowledges the
  // guest's (Linux delays the ACK of a FIN for the same reason). That is a
  // frame less per connection; the guest's FIN timer is far longer.
  acknowledge(now, c, ack_now || taken < data.size(), out);
  pump_to_host(c, out);
  maybe_finish(c, out);
}

void TcpEngine::acknowledge(Time now, TcpConn& c, bool now_please, Actions& out) {
  if (now_please || c.ack_delayed) {
    send_ack(c, out);  // ack every second segment at least (RFC 9293 3.8.6.3)
    return;
  }
  c.ack_delayed = true;
  c.ack_due = now + kAckDelay;
  ack_due_.push_back({c.ack_due, c.id});
}

bool TcpEngine::dns_stream_accepts(TcpConn& c, std::span<const std::byte> data, Actions& out) {
  dns::wire::TcpQueryStream next = *c.dns_stream;  // committed once the queue took the bytes
  if (next.feed(data)) return true;
  ++ctx_.counters.drop_malformed;
  close(c, true, true, out);
  return false;
}

void TcpEngine::keep_early(TcpConn& c, wire::SeqNum seq, std::span<const std::byte> data, bool fin) {
  uint32_t end = static_cast<uint32_t>(seq - c.rcv_nxt) + static_cast<uint32_t>(data.size());
  // Kept only if the queue could take it once the hole is filled (which is
  // what the window we advertise says, too). Not for DNS streams: their
  // check must see every byte in order before it is queued.
  if (c.dns_stream || data.empty() || end > c.to_host.free() || c.early_bytes + data.size() > kMaxEarlyBytes ||
      c.early.size() >= kMaxEarlySegments)
    return;  // dropped: the guest retransmits it
  auto at = c.early.begin();
  while (at != c.early.end() && at->seq < seq) ++at;
  if (at != c.early.end() && at->seq == seq && at->data.size() >= data.size()) return;  // have it
  c.early.insert(at, TcpConn::EarlySegment{seq, std::vector<std::byte>(data.begin(), data.end()), fin});
  c.early_bytes += data.size();
}

bool TcpEngine::take_early(TcpConn& c) {
  bool fin_reached = false;
  size_t used = 0;  // segments at the front that are taken or stale
  for (auto& s : c.early) {
    if (s.seq > c.rcv_nxt) break;  // the next hole
    ++used;
    uint32_t skip = static_cast<uint32_t>(c.rcv_nxt - s.seq);
    if (skip > s.data.size()) continue;  // entirely old (overlapped by what came in order)
    auto rest = std::span<const std::byte>(s.data).subspan(skip);
    size_t taken = c.to_host.append(rest);
    c.rcv_nxt += static_cast<uint32_t>(taken);
    ctx_.counters.tcp_bytes_to_host += taken;
    if (taken < rest.size()) break;  // the queue is full: the guest retransmits the rest
    if (s.fin) {
      fin_reached = true;
      break;
    }
  }
  for (size_t i = 0; i < used; ++i) c.early_bytes -= c.early[i].data.size();
  c.early.erase(c.early.begin(), c.early.begin() + static_cast<std::ptrdiff_t>(used));
  if (fin_reached) {
    c.early.clear();  // nothing follows a FIN
    c.early_bytes = 0;
  }
  return fin_reached;
}

bool TcpEngine::maybe_finish(TcpConn& c, Actions& out) {
  // Both directions finished: the guest's FIN reached the socket as SHUT_WR
  // after all its data, and the guest acknowledged our FIN.
  if (c.guest_fin && c.shutdown_sent && c.send_len == 0 && c.fin_sent && c.snd_una == c.snd_nxt) {
    close(c, false, false, out);
    return true;
  }
  return false;
}

// ---- moving bytes -----------------------------------------------------------

void TcpEngine::pump_to_host(TcpConn& c, Actions& out) {
  if (c.send_len > 0 || c.state == TcpState::Closed) return;
  auto chunk = c.to_host.readable_at(0);
  if (!chunk.empty()) {
    c.send_len = chunk.size();
    out.to_host.push_back(TcpSend{c.id, chunk});
    return;
  }
  if (c.guest_fin && !c.shutdown_sent) {
    c.shutdown_sent = true;
    out.to_host.push_back(TcpShutdown{c.id});
  }
}

void TcpEngine::pump_from_host(TcpConn& c, Actions& out) {
  if (c.rx != TcpConn::Rx::Idle || c.host_eof || c.connecting) return;
  if (c.state == TcpState::Closed || c.state == TcpState::Connecting) return;
  if (!c.from_host.has_storage() || c.from_host.empty()) {
    // Nothing buffered: wait for readability without holding a buffer.
    c.from_host.release();
    c.rx = TcpConn::Rx::Polling;
    out.to_host.push_back(TcpPoll{c.id});
    return;
  }
  auto room = c.from_host.writable();
  if (room.empty()) {
    if (!c.from_host.has_storage()) starve(c);  // over the memory budget
    return;  // full: the guest's ACKs will make room
  }
  c.rx = TcpConn::Rx::Receiving;
  out.to_host.push_back(TcpRecv{c.id, room});
}

void TcpEngine::push_to_guest(Time now, TcpConn& c, Actions& out) {
  if (!sends_host_data(c.state) && !(c.state == TcpState::FinWait1 || c.state == TcpState::Closing ||
                                     c.state == TcpState::LastAck))
    return;
  bool sent_any = false;
  for (int guard = 0; guard < 4096; ++guard) {
    uint32_t in_flight = static_cast<uint32_t>(c.snd_nxt - c.snd_una);
    size_t offset = in_flight;  // bytes of from_host already sent
    if (c.fin_sent) break;
    if (offset >= c.from_host.size()) break;
    if (in_flight >= c.guest_window) {
      // Zero (or full) window: the persist timer probes it.
      if (!c.rto_armed) arm_timer(now, c, c.rto);
      break;
    }
    auto chunk = c.from_host.readable_at(offset);
    const size_t max_seg = ctx_.cfg.tap_offload ? kMaxSuperSegment : c.mss;
    size_t len = std::min<size_t>({chunk.size(), max_seg, c.guest_window - in_flight});
    // A super-segment of whole segments: cut at 64 KiB it would end in a
    // runt (65 495 bytes at an MSS of 65 480 made a second, 15-byte packet
    // for the guest's stack every time). Only the last one may be short.
    if (len > c.mss) len -= len % c.mss;
    bool last = offset + len == c.from_host.size();
    send_segment(c, c.snd_nxt, wire::kTcpAck | (last ? wire::kTcpPsh : 0), chunk.first(len), false, out);
    c.snd_nxt += static_cast<uint32_t>(len);
    ctx_.counters.tcp_bytes_from_host += len;
    sent_any = true;
  }
  uint32_t unsent = static_cast<uint32_t>(c.from_host.size()) - std::min<uint32_t>(static_cast<uint32_t>(c.snd_nxt - c.snd_una), static_cast<uint32_t>(c.from_host.size()));
  if (c.host_eof && !c.fin_sent && unsent == 0 && c.rx == TcpConn::Rx::Idle) {
    send_segment(c, c.snd_nxt, wire::kTcpFin | wire::kTcpAck, {}, false, out);
    c.snd_nxt += 1;
    c.fin_sent = true;
    sent_any = true;
    if (c.state == TcpState::Established) set_state(c, TcpState::FinWait1);
    else if (c.state == TcpState::CloseWait) set_state(c, TcpState::LastAck);
  }
  if (sent_any && !c.rto_armed) arm_timer(now, c, c.rto);
}

// ---- segments to the guest --------------------------------------------------

uint32_t TcpEngine::mss_limit(const FlowKey& k) const {
  // The tap's MTU less the IP and TCP headers, and what one packet can carry.
  const uint32_t headers = k.family() == wire::IpFamily::V4 ? 40 : 60;
  return std::min<uint32_t>(ctx_.cfg.mtu > headers ? ctx_.cfg.mtu - headers : 536, 65495);
}

uint16_t TcpEngine::default_mss(const FlowKey& k) {
  // RFC 9293 3.7.1: without an MSS option, assume the family's minimum.
  return k.family() == wire::IpFamily::V4 ? 536 : 1220;
}

uint16_t TcpEngine::window_field(TcpConn& c) {
  uint32_t free = static_cast<uint32_t>(c.to_host.free());
  // A zero window for want of memory: the guest may be holding data (or a
  // FIN, which Linux does not send into a zero window) until it hears the
  // window open, so this connection gets a window update when memory returns.
  c.memory_zero_window = free == 0 && !c.to_host.has_storage() && !c.guest_fin;
  if (c.memory_zero_window) starve(c);
  if (c.guest_fin) free = 0;
  uint32_t field = std::min<uint32_t>(free >> c.our_wscale, 65535);
  c.last_adv_window = field << c.our_wscale;
  return static_cast<uint16_t>(field);
}

void TcpEngine::send_segment(TcpConn& c, wire::SeqNum seq, uint8_t flags, std::span<const std::byte> payload,
                             bool syn_options, Actions& out) {
  wire::TcpSegmentSpec s{};
  s.sport = c.key.dst_port;
  s.dport = c.key.guest_port;
  s.seq = seq;
  s.ack = c.rcv_nxt;
  s.flags = flags;
  c.rcv_acked = c.rcv_nxt;  // every segment carries the ACK: nothing waits any more
  c.ack_delayed = false;
  if (syn_options) {
    // The SYN-ACK's window is never scaled; offer what our queue holds.
    s.window = static_cast<uint16_t>(std::min<size_t>(c.to_host.capacity(), 65535));
    c.last_adv_window = s.window;  // what on_sent's window update compares with
    s.mss = static_cast<uint16_t>(mss_limit(c.key));
    if (c.our_wscale) s.wscale = c.our_wscale;
  } else {
    s.window = window_field(c);
  }
  s.checksum_partial = ctx_.cfg.tap_offload;
  wire::IpHeader h{.src = c.key.dst_ip, .dst = c.key.guest_ip, .proto = wire::IpProto::Tcp};
  // The payload is always from_host's bytes: the frame points at them (the
  // loop writes headers and payload with one writev) and holds the chunk.
  Frame f = wire::build_ip_tcp_headers(ctx_.to_guest(), h, s, payload);
  if (f.empty()) return;
  if (!payload.empty()) {
    f.tail = payload;
    f.tail_owner = c.from_host.storage();
  }
  if (s.checksum_partial) {
    f.offload.csum_partial = true;
    f.offload.csum_start = static_cast<uint8_t>(wire::kEthernetHeaderLen + wire::ip_header_len(h));
    f.offload.csum_offset = 16;
    if (payload.size() > c.mss) {
      f.offload.gso_size = c.mss;
      f.offload.gso_v6 = h.src.is_v6();
      f.offload.hdr_len = static_cast<uint16_t>(f.size());
    }
  }
  out.to_tap.push_back(std::move(f));
}

void TcpEngine::send_ack(TcpConn& c, Actions& out) {
  send_segment(c, c.snd_nxt, wire::kTcpAck, {}, false, out);
}

void TcpEngine::send_rst_for(const wire::IpView& ip, const wire::TcpView& tcp, Actions& out) {
  if (tcp.rst()) return;  // never answer a reset
  wire::TcpSegmentSpec s{};
  s.sport = tcp.dst_port();
  s.dport = tcp.src_port();
  if (tcp.ack_flag()) {
    s.seq = tcp.ack();
    s.flags = wire::kTcpRst;
  } else {
    uint32_t len = static_cast<uint32_t>(tcp.payload().size()) + (tcp.syn() ? 1 : 0) + (tcp.fin() ? 1 : 0);
    s.ack = tcp.seq() + len;
    s.flags = wire::kTcpRst | wire::kTcpAck;
  }
  wire::IpHeader h{.src = ip.dst(), .dst = ip.src(), .proto = wire::IpProto::Tcp};
  out.to_tap.push_back(wire::build_ip_tcp(ctx_.to_guest(), h, s, {}));
  ++ctx_.counters.tcp_rst_sent;
}

// ---- host socket results ----------------------------------------------------

TcpConn* TcpEngine::complete(FlowId flow, void (*done)(TcpConn&)) {
  graveyard_.clear();
  TcpConn* c = find(flow);
  if (!c) return nullptr;
  done(*c);
  if (c->state == TcpState::Closed) {
    maybe_free(*c);  // the last completion of a closed connection frees it
    return nullptr;
  }
  return c;
}

void TcpEngine::on_connected(Time now, FlowId flow, int err, Actions& out) {
  if (TcpConn* k = find(flow); k && k->connecting && connecting_ > 0) --connecting_;
  TcpConn* c = complete(flow, [](TcpConn& k) { k.connecting = false; });
  if (!c || c->state != TcpState::Connecting) return;
  if (err != 0) {
    ++ctx_.counters.tcp_connect_failed;
    int e = -err;
    LOG_DEBUG("tcp connect to %s:%u failed: %s", c->key.dst_ip.to_string().c_str(), c->key.dst_port,
              std::strerror(e));
    auto code = unreachable_code(c->key.family(), e);
    if (code && e != ECONNREFUSED && c->syn_quote.len > 0) {
      // No route (or no IPv6 on the host): the guest hears it as from a router.
      send_unreachable(ctx_, c->key.dst_ip, c->key.guest_ip, *code, c->syn_quote, out);
      close(*c, false, false, out);
    } else {
      close(*c, true, false, out);  // refused, timed out, reset: RST
    }
    return;
  }
  set_state(*c, TcpState::SynReceived);
  c->rto = kInitialRto;
  send_segment(*c, c->iss, wire::kTcpSyn | wire::kTcpAck, {}, true, out);
  arm_timer(now, *c, c->rto);
  pump_from_host(*c, out);  // the peer may speak first (SSH, SMTP banners)
}

void TcpEngine::on_readable(Time now, FlowId flow, int err, Actions& out) {
  TcpConn* c = complete(flow, [](TcpConn& k) { k.rx = TcpConn::Rx::Idle; });
  if (!c) return;
  if (err < 0 && err != -ECANCELED) {
    LOG_DEBUG("tcp flow %llu: poll failed: %s", static_cast<unsigned long long>(flow), std::strerror(-err));
    close(*c, true, true, out);
    return;
  }
  // Readable (data, EOF or a pending error): receive into a buffer now.
  auto room = c->from_host.writable();
  if (room.empty()) {
    if (!c->from_host.has_storage()) starve(*c);  // over the memory budget
    return;
  }
  c->rx = TcpConn::Rx::Receiving;
  out.to_host.push_back(TcpRecv{c->id, room});
  (void)now;
}

void TcpEngine::on_received(Time now, FlowId flow, int res, Actions& out) {
  TcpConn* c = complete(flow, [](TcpConn& k) { k.rx = TcpConn::Rx::Idle; });
  if (!c) return;
  if (res > 0) {
    c->from_host.commit(static_cast<size_t>(res));
    push_to_guest(now, *c, out);
    pump_from_host(*c, out);
    return;
  }
  if (res == -EAGAIN) {
    // Nothing to read yet: wait for readability without holding a buffer
    // (an empty ring gives its chunk back to the memory budget).
    if (c->from_host.empty()) c->from_host.release();
    c->rx = TcpConn::Rx::Polling;
    out.to_host.push_back(TcpPoll{c->id});
    return;
  }
  if (res == 0) {
    c->host_eof = true;
    if (c->from_host.empty()) c->from_host.release();
    push_to_guest(now, *c, out);  // FIN once everything before it is out
    return;
  }
  if (res == -ECANCELED) return;
  // ECONNRESET and friends: the peer is gone; so is the guest's connection.
  LOG_DEBUG("tcp flow %llu: receive failed: %s", static_cast<unsigned long long>(flow), std::strerror(-res));
  close(*c, true, false, out);
}

void TcpEngine::on_sent(Time now, FlowId flow, int res, Actions& out) {
  TcpConn* c = complete(flow, [](TcpConn& k) { k.send_len = 0; });
  if (!c) return;
  if (res < 0) {
    if (res == -ECANCELED) return;
    LOG_DEBUG("tcp flow %llu: send failed: %s", static_cast<unsigned long long>(flow), std::strerror(-res));
    close(*c, true, false, out);
    return;
  }
  uint32_t before = c->last_adv_window;
  c->to_host.consume(static_cast<size_t>(res));
  pump_to_host(*c, out);
  if (maybe_finish(*c, out)) return;
  // Tell the guest about the room we made if its view of our window was
  // small (below one segment): otherwise its next ACK-clocked segment
  // would wait for a timer.
  if (before < c->mss && c->to_host.free() >= c->mss && !c->guest_fin) send_ack(*c, out);
  (void)now;
}

// ---- timers -------------------------------------------------------------------

void TcpEngine::arm_timer(Time now, TcpConn& c, Duration after) {
  if (c.rto == Duration::zero()) c.rto = kInitialRto;
  c.rto_at = now + after;
  c.rto_armed = true;
  ++c.timer_gen;
  timers_.push({c.rto_at, c.id, c.timer_gen});
}

void TcpEngine::starve(TcpConn& c) {
  if (c.starved) return;
  c.starved = true;
  starved_.push_back(c.id);
  ++ctx_.counters.tcp_buffer_limit;
}

void TcpEngine::feed_starved(Actions& out) {
  while (!starved_.empty() && pool_.available()) {
    FlowId id = starved_.front();
    starved_.pop_front();
    TcpConn* c = find(id);
    if (!c || c->state == TcpState::Closed) continue;
    c->starved = false;
    if (c->rx == TcpConn::Rx::Idle) pump_from_host(*c, out);
    send_ack(*c, out);  // the window the guest saw as zero may be open again
  }
}

bool TcpEngine::live(const TimerEntry& e) const {
  auto it = conns_.find(e.flow);
  return it != conns_.end() && it->second->rto_armed && it->second->timer_gen == e.gen;
}

bool TcpEngine::live(const AckDue& e) const {
  auto it = conns_.find(e.flow);
  return it != conns_.end() && it->second->ack_delayed && it->second->ack_due == e.at;
}

std::optional<Time> TcpEngine::next_deadline() const {
  while (!timers_.empty() && !live(timers_.top())) timers_.pop();
  while (!ack_due_.empty() && !live(ack_due_.front())) ack_due_.pop_front();
  std::optional<Time> t;
  if (!timers_.empty()) t = timers_.top().at;
  if (!ack_due_.empty() && (!t || ack_due_.front().at < *t)) t = ack_due_.front().at;
  return t;
}

void TcpEngine::on_timer(Time now, Actions& out) {
  graveyard_.clear();
  while (!ack_due_.empty() && ack_due_.front().at <= now) {
    AckDue e = ack_due_.front();
    ack_due_.pop_front();
    if (!live(e)) continue;  // acknowledged meanwhile (an answer carried it), or gone
    TcpConn* c = find(e.flow);
    if (c->state != TcpState::Closed) send_ack(*c, out);
  }
  while (!timers_.empty() && timers_.top().at <= now) {
    TimerEntry e = timers_.top();
    timers_.pop();
    TcpConn* c = find(e.flow);
    if (!c || !c->rto_armed || c->timer_gen != e.gen) continue;  // stale entry
    c->rto_armed = false;
    on_conn_timer(now, *c, out);
  }
}

void TcpEngine::on_conn_timer(Time now, TcpConn& c, Actions& out) {
  switch (c.state) {
    case TcpState::Closed:
      return;
    case TcpState::Connecting:
      ++ctx_.counters.tcp_connect_failed;
      close(c, true, true, out);  // the host connect did not finish in time
      return;
    default:
      break;
  }
  if (++c.retries > kMaxRetries) {
    close(c, true, true, out);  // the guest stopped answering
    return;
  }
  c.rto = std::min(c.rto * 2, kMaxRto);
  if (c.state == TcpState::SynSent) {
    if (c.retries > kMaxSynRetries) {
      close(c, false, true, out);  // the guest never answered: reset the host client
      return;
    }
    send_segment(c, c.iss, wire::kTcpSyn, {}, true, out);
    arm_timer(now, c, c.rto);
    return;
  }
  if (c.state == TcpState::SynReceived) {
    send_segment(c, c.iss, wire::kTcpSyn | wire::kTcpAck, {}, true, out);
    arm_timer(now, c, c.rto);
    return;
  }
  if (c.snd_nxt == c.snd_una && c.guest_window > 0) return;  // nothing outstanding
  if (c.guest_window == 0 && !c.from_host.empty() && !c.fin_sent) {
    // Persist: probe the zero window with the first unacknowledged byte. It
    // counts as sent, so an ACK that takes it moves the stream on; an ACK
    // that refuses it carries the window we wait for.
    auto chunk = c.from_host.readable_at(0);
    send_segment(c, c.snd_una, wire::kTcpAck, chunk.first(1), false, out);
    c.snd_nxt = c.snd_una + 1;
    c.probing = true;
    arm_timer(now, c, c.rto);
    return;
  }
  ++ctx_.counters.tcp_retransmits;
  // Go back to the first unacknowledged byte and send again.
  c.snd_nxt = c.snd_una;
  c.fin_sent = false;
  push_to_guest(now, c, out);
  if (!c.rto_armed) arm_timer(now, c, c.rto);
}

// ---- the one exit path --------------------------------------------------------

void TcpEngine::close(TcpConn& c, bool rst_guest, bool abort_host, Actions& out) {
  if (c.state == TcpState::Closed) return;
  if (rst_guest) {
    wire::TcpSegmentSpec s{};
    s.sport = c.key.dst_port;
    s.dport = c.key.guest_port;
    s.seq = c.state == TcpState::Connecting ? wire::SeqNum(0) : c.snd_nxt;
    s.ack = c.rcv_nxt;
    s.flags = wire::kTcpRst | wire::kTcpAck;
    wire::IpHeader h{.src = c.key.dst_ip, .dst = c.key.guest_ip, .proto = wire::IpProto::Tcp};
    out.to_tap.push_back(wire::build_ip_tcp(ctx_.to_guest(), h, s, {}));
    ++ctx_.counters.tcp_rst_sent;
  }
  set_state(c, TcpState::Closed);
  disarm_timer(c);
  by_key_.erase(c.key);
  ++ctx_.counters.tcp_conns_closed;
  out.to_host.push_back(CloseSocket{c.id, abort_host});
  maybe_free(c);
}

void TcpEngine::maybe_free(TcpConn& c) {
  if (c.state != TcpState::Closed || c.io_in_flight()) return;
  c.to_host.release();
  c.from_host.release();
  // Callers up the stack may still look at `c` (its state reads Closed):
  // keep the object until the next event enters the engine.
  auto it = conns_.find(c.id);
  if (it == conns_.end()) return;
  graveyard_.push_back(std::move(it->second));
  conns_.erase(it);
}

}  // namespace netd::tap
