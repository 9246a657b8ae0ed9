#include "portfwd/forwarder.h"

#include "portfwd/host_socket.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <vector>

#include "common/log.h"
#include "common/uring.h"

namespace netd::portfwd {
namespace {

using uring::Op;
using uring::Tag;

constexpr unsigned kRingEntries = 512;
constexpr uint32_t kSpliceChunk = 1 << 16;  // one default pipe's worth
constexpr int kAcceptBatch = 64;            // accepts/datagrams per wake-up, then re-arm
constexpr size_t kDatagramMax = 65536;

// Slot layout: [31..28] kind, [27..2] index, [1..0] sub (TCP: direction or connect).
enum class Kind : uint32_t { Listener = 0, Conn = 1, Flow = 2, Control = 3, ExitFd = 4 };
constexpr uint32_t kConnectSub = 2;
constexpr uint32_t make_slot(Kind k, uint32_t index, uint32_t sub = 0) {
  return (static_cast<uint32_t>(k) << 28) | ((index & 0x3ffffff) << 2) | (sub & 3);
}
constexpr Kind kind_of(uint32_t slot) { return static_cast<Kind>(slot >> 28); }
constexpr uint32_t index_of(uint32_t slot) { return (slot >> 2) & 0x3ffffff; }
constexpr uint32_t sub_of(uint32_t slot) { return slot & 3; }

std::string endpoint(const IpAddress& a, uint16_t port) {
  // Appended piece by piece: gcc 12 at -O3 warns (-Wrestrict, a known false
  // positive) about "[" + std::string.
  std::string out;
  if (a.family == AF_INET6) out += '[';
  out += a.to_string();
  if (a.family == AF_INET6) out += ']';
  out += ':';
  out += std::to_string(port);
  return out;
}

void set_linger_zero(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

// A table of slots whose indexes are reused; each reuse bumps the generation.
template <class T>
struct SlotTable {
  std::vector<T> items;
  std::vector<uint32_t> free;
  uint32_t alloc() {
    if (!free.empty()) {
      uint32_t i = free.back();
      free.pop_back();
      return i;
    }
    items.emplace_back();
    return static_cast<uint32_t>(items.size() - 1);
  }
  void release(uint32_t i) {
    uint16_t g = static_cast<uint16_t>(items[i].generation + 1);
    items[i] = T{};
    items[i].generation = g;
    free.push_back(i);
  }
};

}  // namespace

struct Forwarder::Impl {
  struct Listener {
    UniqueFd fd;
    ForwardRule rule;
    uint16_t generation = 0;
    bool live = false;
  };
  // One direction of a TCP connection: src -> pipe -> dst.
  struct Dir {
    UniqueFd pipe_r, pipe_w;
    size_t in_pipe = 0;
    bool src_eof = false;
    bool done = false;
    bool busy = false;  // a splice or poll of this direction is in flight
    uint64_t bytes = 0;
  };
  struct Conn {
    UniqueFd client, target;
    Dir dir[2];  // 0: client -> target, 1: target -> client
    uint16_t generation = 0;
    bool live = false;
    bool connecting = false;
    bool aborting = false;
    int inflight = 0;
    uint64_t rule_id = 0;
    IpAddress peer;
    uint16_t peer_port = 0;
  };
  struct Flow {
    UniqueFd fd;  // connected inside the namespace
    uint32_t listener = 0;
    sockaddr_storage client{};
    socklen_t client_len = 0;
    Time last_active{};
    uint16_t generation = 0;
    bool live = false;
    bool polling = false;
  };
  struct Counters {
    uint64_t tcp_accepted = 0, tcp_connect_failed = 0, tcp_reset = 0, tcp_closed = 0;
    uint64_t bytes_to_target = 0, bytes_to_client = 0;
    uint64_t udp_flows_opened = 0, udp_flows_expired = 0, udp_to_target = 0, udp_to_client = 0, udp_dropped = 0;
  };

  std::shared_ptr<NsConnector> connector;
  ForwarderOptions opts;
  std::unique_ptr<uring::Ring> ring;
  ControlQueue control;
  UniqueFd signal_fd;
  signalfd_siginfo siginfo{};
  SlotTable<Listener> listeners;
  SlotTable<Conn> conns;
  SlotTable<Flow> flows;
  std::map<std::string, uint32_t> flow_by_client;  // listener index + client address -> flow
  std::vector<std::byte> dgram = std::vector<std::byte>(kDatagramMax);
  Counters counters;
  bool running = true;
  int exit_status = 0;

  // ---- set-up --------------------------------------------------------------
  Expected<void, std::string> init() {
    auto r = uring::Ring::create(kRingEntries);
    if (!r) return unexpected(r.error());
    ring = std::move(*r);
    ::signal(SIGPIPE, SIG_IGN);
    if (opts.handle_signals) {
      sigset_t mask;
      sigemptyset(&mask);
      for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, sig);
      ::pthread_sigmask(SIG_BLOCK, &mask, nullptr);
      signal_fd.reset(::signalfd(-1, &mask, SFD_CLOEXEC));
      if (!signal_fd) return unexpected(std::string("signalfd: ") + std::strerror(errno));
      arm_signal();
    }
    arm_poll(control.eventfd(), POLLIN, make_slot(Kind::Control, 0), 0);
    if (opts.exit_fd >= 0) arm_poll(opts.exit_fd, POLLIN | POLLRDHUP, make_slot(Kind::ExitFd, 0), 0);
    return {};
  }

  void arm_signal() {
    io_uring_prep_read(ring->sqe({Op::SignalRead, 0, 0}), signal_fd.get(), &siginfo, sizeof siginfo, 0);
  }
  void arm_poll(int fd, unsigned events, uint32_t slot, uint16_t gen) {
    io_uring_prep_poll_add(ring->sqe({Op::PollFd, gen, slot}), fd, events);
  }
  void cancel(Op op, uint32_t slot, uint16_t gen) {
    io_uring_prep_cancel64(ring->sqe({Op::Cancel, 0, 0}), uring::encode({op, gen, slot}), 0);
  }

  // ---- rules ---------------------------------------------------------------
  Expected<void, std::string> add(const ForwardRule& rule) {
    for (const auto& l : listeners.items) {
      if (l.live && l.rule.id == rule.id) return unexpected("forward id " + std::to_string(rule.id) + " exists");
    }
    auto opened = open_host_socket(rule.host_addr, rule.host_port, rule.proto, true);
    if (!opened) return unexpected(opened.error());
    UniqueFd fd = std::move(*opened);
    uint32_t i = listeners.alloc();
    Listener& l = listeners.items[i];
    l.fd = std::move(fd);
    l.rule = rule;
    l.live = true;
    arm_poll(l.fd.get(), POLLIN, make_slot(Kind::Listener, i), l.generation);
    LOG_INFO("forwarding %s/%s -> %s in the namespace", endpoint(rule.host_addr, rule.host_port).c_str(),
             proto_name(rule.proto), endpoint(rule.target_addr, rule.target_port).c_str());
    return {};
  }

  Expected<void, std::string> remove(uint64_t id) {
    for (uint32_t i = 0; i < listeners.items.size(); ++i) {
      Listener& l = listeners.items[i];
      if (!l.live || l.rule.id != id) continue;
      cancel(Op::PollFd, make_slot(Kind::Listener, i), l.generation);
      // UDP flows of this listener reply through its socket: close them too.
      for (uint32_t f = 0; f < flows.items.size(); ++f) {
        if (flows.items[f].live && flows.items[f].listener == i) close_flow(f);
      }
      listeners.release(i);  // closes the socket; the cancelled poll is stale now
      return {};
    }
    return unexpected("no forward with id " + std::to_string(id));
  }

  // ---- dispatch ------------------------------------------------------------
  void on_completion(const io_uring_cqe& cqe) {
    Tag t = uring::decode(cqe.user_data);
    switch (t.op) {
      case Op::SignalRead: return on_signal(cqe);
      case Op::Cancel: return;
      case Op::PollFd:
      case Op::SocketRecv:
      case Op::SocketSend: break;
      default: return;
    }
    uint32_t idx = index_of(t.slot);
    switch (kind_of(t.slot)) {
      case Kind::Control:
        control.drain();
        if (running) arm_poll(control.eventfd(), POLLIN, make_slot(Kind::Control, 0), 0);
        return;
      case Kind::ExitFd: return on_exit_fd(cqe);
      case Kind::Listener:
        if (idx >= listeners.items.size() || !listeners.items[idx].live ||
            listeners.items[idx].generation != t.generation)
          return;
        if (listeners.items[idx].rule.proto == Proto::Tcp) on_accept(idx);
        else on_udp_listener(idx);
        return;
      case Kind::Flow:
        if (idx >= flows.items.size() || !flows.items[idx].live || flows.items[idx].generation != t.generation)
          return;
        flows.items[idx].polling = false;
        on_flow_readable(idx);
        return;
      case Kind::Conn:
        if (idx >= conns.items.size() || !conns.items[idx].live || conns.items[idx].generation != t.generation)
          return;
        on_conn(idx, t.op, sub_of(t.slot), cqe.res);
        return;
    }
  }

  void on_signal(const io_uring_cqe& cqe) {
    if (cqe.res == static_cast<int>(sizeof siginfo) &&
        (siginfo.ssi_signo == SIGTERM || siginfo.ssi_signo == SIGINT || siginfo.ssi_signo == SIGHUP)) {
      LOG_INFO("signal %u: stopping", siginfo.ssi_signo);
      running = false;
      return;
    }
    arm_signal();
  }

  void on_exit_fd(const io_uring_cqe& cqe) {
    if (cqe.res < 0 && cqe.res != -EINTR) return;  // cancelled at exit
    if (cqe.res & (POLLHUP | POLLERR | POLLRDHUP)) {
      LOG_INFO("exit fd %d hung up: stopping", opts.exit_fd);
      running = false;
      return;
    }
    char buf[256];
    ssize_t n = ::recv(opts.exit_fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == ENOTSOCK) n = ::read(opts.exit_fd, buf, sizeof buf);
    if (n == 0) {
      LOG_INFO("exit fd %d closed: stopping", opts.exit_fd);
      running = false;
      return;
    }
    arm_poll(opts.exit_fd, POLLIN | POLLRDHUP, make_slot(Kind::ExitFd, 0), 0);
  }

  // ---- TCP -----------------------------------------------------------------
  void on_accept(uint32_t li) {
    for (int n = 0; n < kAcceptBatch; ++n) {
      Listener& l = listeners.items[li];
      sockaddr_storage peer{};
      socklen_t plen = sizeof peer;
      int fd = ::accept4(l.fd.get(), reinterpret_cast<sockaddr*>(&peer), &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
          LOG_WARN("accept on %s: %s", endpoint(l.rule.host_addr, l.rule.host_port).c_str(), std::strerror(errno));
        break;
      }
      start_conn(li, UniqueFd(fd), peer);
    }
    Listener& l = listeners.items[li];
    arm_poll(l.fd.get(), POLLIN, make_slot(Kind::Listener, li), l.generation);
  }

  void start_conn(uint32_t li, UniqueFd client, const sockaddr_storage& peer) {
    ForwardRule rule = listeners.items[li].rule;
    ++counters.tcp_accepted;
    auto target = connector->connect(Proto::Tcp, rule.target_addr, rule.target_port);
    if (!target) {
      ++counters.tcp_connect_failed;
      LOG_WARN("connection to %s: %s", endpoint(rule.target_addr, rule.target_port).c_str(), target.error().c_str());
      set_linger_zero(client.get());
      return;
    }
    uint32_t ci = conns.alloc();
    Conn& c = conns.items[ci];
    c.live = true;
    c.connecting = true;
    c.rule_id = rule.id;
    c.client = std::move(client);
    c.target = std::move(*target);
    if (auto a = IpAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&peer), &c.peer_port)) c.peer = *a;
    for (auto& d : c.dir) {
      int p[2];
      if (::pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) {
        LOG_WARN("pipe: %s", std::strerror(errno));
        abort_conn(ci);
        return;
      }
      d.pipe_r.reset(p[0]);
      d.pipe_w.reset(p[1]);
    }
    ++c.inflight;
    arm_poll(c.target.get(), POLLOUT, make_slot(Kind::Conn, ci, kConnectSub), c.generation);
  }

  int src_of(const Conn& c, uint32_t d) const { return d == 0 ? c.client.get() : c.target.get(); }
  int dst_of(const Conn& c, uint32_t d) const { return d == 0 ? c.target.get() : c.client.get(); }

  void on_conn(uint32_t ci, Op op, uint32_t sub, int res) {
    Conn& c = conns.items[ci];
    --c.inflight;
    if (sub == kConnectSub) {
      c.connecting = false;
      if (c.aborting) return maybe_free(ci);
      int err = 0;
      socklen_t len = sizeof err;
      if (res < 0) err = -res;
      else ::getsockopt(c.target.get(), SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        ++counters.tcp_connect_failed;
        LOG_DEBUG("connect inside the namespace: %s", std::strerror(err));
        return abort_conn(ci);
      }
      pump(ci, 0);
      pump(ci, 1);
      return;
    }
    Dir& d = c.dir[sub];
    d.busy = false;
    if (c.aborting) return maybe_free(ci);
    if (op == Op::SocketRecv) {  // src -> pipe
      if (res > 0) d.in_pipe += static_cast<size_t>(res);
      else if (res == 0) d.src_eof = true;
      else if (res == -EAGAIN) return wait_for(ci, sub, src_of(c, sub), POLLIN);
      else return reset(ci, sub, -res);
    } else if (op == Op::SocketSend) {  // pipe -> dst
      if (res > 0) {
        d.in_pipe -= std::min(d.in_pipe, static_cast<size_t>(res));
        d.bytes += static_cast<uint64_t>(res);
        (sub == 0 ? counters.bytes_to_target : counters.bytes_to_client) += static_cast<uint64_t>(res);
      } else if (res == -EAGAIN) {
        return wait_for(ci, sub, dst_of(c, sub), POLLOUT);
      } else {
        return reset(ci, sub, res == 0 ? EPIPE : -res);
      }
    } else if (res < 0 && res != -EINTR) {  // the poll itself failed
      return reset(ci, sub, -res);
    }
    pump(ci, sub);
  }

  void wait_for(uint32_t ci, uint32_t sub, int fd, unsigned events) {
    Conn& c = conns.items[ci];
    c.dir[sub].busy = true;
    ++c.inflight;
    arm_poll(fd, events, make_slot(Kind::Conn, ci, sub), c.generation);
  }

  // Issues the next step of direction `sub`: drain the pipe, else refill it,
  // else (source at EOF) pass the half-close on.
  void pump(uint32_t ci, uint32_t sub) {
    Conn& c = conns.items[ci];
    Dir& d = c.dir[sub];
    if (d.done || d.busy || c.aborting) return;
    unsigned flags = SPLICE_F_NONBLOCK | SPLICE_F_MOVE;
    Tag tag{};
    tag.generation = c.generation;
    tag.slot = make_slot(Kind::Conn, ci, sub);
    if (d.in_pipe > 0) {
      tag.op = Op::SocketSend;
      io_uring_prep_splice(ring->sqe(tag), d.pipe_r.get(), -1, dst_of(c, sub), -1,
                           static_cast<unsigned>(d.in_pipe), flags);
    } else if (!d.src_eof) {
      tag.op = Op::SocketRecv;
      io_uring_prep_splice(ring->sqe(tag), src_of(c, sub), -1, d.pipe_w.get(), -1, kSpliceChunk, flags);
    } else {
      ::shutdown(dst_of(c, sub), SHUT_WR);
      d.done = true;
      if (c.dir[0].done && c.dir[1].done) {
        ++counters.tcp_closed;
        maybe_free(ci);
      }
      return;
    }
    d.busy = true;
    ++c.inflight;
  }

  // A side failed with `err` while moving direction `sub`: reset both sides.
  void reset(uint32_t ci, uint32_t sub, int err) {
    ++counters.tcp_reset;
    LOG_DEBUG("connection from %s: %s on the %s side; resetting",
              endpoint(conns.items[ci].peer, conns.items[ci].peer_port).c_str(), std::strerror(err),
              sub == 0 ? "client" : "target");
    abort_conn(ci);
  }

  void abort_conn(uint32_t ci) {
    Conn& c = conns.items[ci];
    if (!c.aborting) {
      c.aborting = true;
      if (c.client) set_linger_zero(c.client.get());
      if (c.target) set_linger_zero(c.target.get());
      for (uint32_t sub = 0; sub < 3; ++sub) {
        for (Op op : {Op::PollFd, Op::SocketRecv, Op::SocketSend})
          cancel(op, make_slot(Kind::Conn, ci, sub), c.generation);
      }
    }
    maybe_free(ci);
  }

  // Frees the slot (closing sockets and pipes) once nothing is in flight.
  void maybe_free(uint32_t ci) {
    Conn& c = conns.items[ci];
    bool finished = c.aborting || (c.dir[0].done && c.dir[1].done);
    if (finished && c.inflight == 0) conns.release(ci);
  }

  // ---- UDP -----------------------------------------------------------------
  static std::string flow_key(uint32_t li, const sockaddr_storage& ss, socklen_t len) {
    std::string k(reinterpret_cast<const char*>(&li), sizeof li);
    k.append(reinterpret_cast<const char*>(&ss), len);
    return k;
  }

  void on_udp_listener(uint32_t li) {
    for (int n = 0; n < kAcceptBatch; ++n) {
      Listener& l = listeners.items[li];
      sockaddr_storage from{};
      socklen_t flen = sizeof from;
      ssize_t got = ::recvfrom(l.fd.get(), dgram.data(), dgram.size(), MSG_DONTWAIT,
                               reinterpret_cast<sockaddr*>(&from), &flen);
      if (got < 0) break;
      uint32_t fi = flow_for(li, from, flen);
      if (fi == UINT32_MAX) {
        ++counters.udp_dropped;
        continue;
      }
      Flow& f = flows.items[fi];
      f.last_active = Clock::now();
      if (::send(f.fd.get(), dgram.data(), static_cast<size_t>(got), MSG_DONTWAIT) < 0) ++counters.udp_dropped;
      else ++counters.udp_to_target;
    }
    Listener& l = listeners.items[li];
    arm_poll(l.fd.get(), POLLIN, make_slot(Kind::Listener, li), l.generation);
  }

  // The flow of this client on listener li, opened on first use; UINT32_MAX on failure.
  uint32_t flow_for(uint32_t li, const sockaddr_storage& from, socklen_t flen) {
    std::string key = flow_key(li, from, flen);
    auto it = flow_by_client.find(key);
    if (it != flow_by_client.end()) return it->second;
    const ForwardRule& rule = listeners.items[li].rule;
    auto s = connector->connect(Proto::Udp, rule.target_addr, rule.target_port);
    if (!s) {
      LOG_WARN("UDP flow to %s: %s", endpoint(rule.target_addr, rule.target_port).c_str(), s.error().c_str());
      return UINT32_MAX;
    }
    uint32_t fi = flows.alloc();
    Flow& f = flows.items[fi];
    f.fd = std::move(*s);
    f.listener = li;
    f.client = from;
    f.client_len = flen;
    f.live = true;
    f.polling = true;
    arm_poll(f.fd.get(), POLLIN, make_slot(Kind::Flow, fi), f.generation);
    flow_by_client[key] = fi;
    ++counters.udp_flows_opened;
    return fi;
  }

  void on_flow_readable(uint32_t fi) {
    for (int n = 0; n < kAcceptBatch; ++n) {
      Flow& f = flows.items[fi];
      ssize_t got = ::recv(f.fd.get(), dgram.data(), dgram.size(), MSG_DONTWAIT);
      if (got < 0) {
        if (errno == EAGAIN || errno == EINTR) break;
        continue;  // ECONNREFUSED from an ICMP error: nothing to tell a UDP client
      }
      f.last_active = Clock::now();
      Listener& l = listeners.items[f.listener];
      if (::sendto(l.fd.get(), dgram.data(), static_cast<size_t>(got), MSG_DONTWAIT,
                   reinterpret_cast<const sockaddr*>(&f.client), f.client_len) < 0)
        ++counters.udp_dropped;
      else ++counters.udp_to_client;
    }
    Flow& f = flows.items[fi];
    f.polling = true;
    arm_poll(f.fd.get(), POLLIN, make_slot(Kind::Flow, fi), f.generation);
  }

  void close_flow(uint32_t fi) {
    Flow& f = flows.items[fi];
    if (f.polling) cancel(Op::PollFd, make_slot(Kind::Flow, fi), f.generation);
    flow_by_client.erase(flow_key(f.listener, f.client, f.client_len));
    flows.release(fi);
  }

  void expire_flows(Time now) {
    for (uint32_t fi = 0; fi < flows.items.size(); ++fi) {
      if (flows.items[fi].live && now - flows.items[fi].last_active >= opts.udp_idle) {
        ++counters.udp_flows_expired;
        close_flow(fi);
      }
    }
  }

  // ---- loop ----------------------------------------------------------------
  int run() {
    Time next_expiry = Clock::now() + seconds(1);
    while (running) {
      std::optional<Duration> timeout;
      if (!flow_by_client.empty()) {
        Time now = Clock::now();
        timeout = next_expiry > now ? next_expiry - now : Duration::zero();
      }
      int rc = ring->submit_and_wait(timeout);
      if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY) {
        LOG_ERROR("io_uring wait failed: %s", std::strerror(-rc));
        return 1;
      }
      ring->for_each_completion([&](const io_uring_cqe& c) { on_completion(c); });
      Time now = Clock::now();
      if (now >= next_expiry) {
        expire_flows(now);
        next_expiry = now + seconds(1);
      }
    }
    LOG_INFO("counters %s", counters_json().c_str());
    return exit_status;
  }

  std::string counters_json() const {
    const Counters& k = counters;
    size_t active = 0, udp = 0;
    for (const auto& c : conns.items) active += c.live;
    for (const auto& f : flows.items) udp += f.live;
    return "{\"tcp_accepted\":" + std::to_string(k.tcp_accepted) + ",\"tcp_active\":" + std::to_string(active) +
           ",\"tcp_closed\":" + std::to_string(k.tcp_closed) + ",\"tcp_reset\":" + std::to_string(k.tcp_reset) +
           ",\"tcp_connect_failed\":" + std::to_string(k.tcp_connect_failed) +
           ",\"bytes_to_target\":" + std::to_string(k.bytes_to_target) +
           ",\"bytes_to_client\":" + std::to_string(k.bytes_to_client) + ",\"udp_active\":" + std::to_string(udp) +
           ",\"udp_flows_opened\":" + std::to_string(k.udp_flows_opened) +
           ",\"udp_flows_expired\":" + std::to_string(k.udp_flows_expired) +
           ",\"udp_to_target\":" + std::to_string(k.udp_to_target) +
           ",\"udp_to_client\":" + std::to_string(k.udp_to_client) +
           ",\"udp_dropped\":" + std::to_string(k.udp_dropped) + "}";
  }

  std::string flows_json() const {
    std::string out = "[";
    auto add = [&](const std::string& item) {
      if (out.size() > 1) out += ",";
      out += item;
    };
    for (const auto& c : conns.items) {
      if (!c.live) continue;
      add("{\"proto\":\"tcp\",\"id\":" + std::to_string(c.rule_id) + ",\"client\":\"" +
          endpoint(c.peer, c.peer_port) + "\",\"bytes_to_target\":" + std::to_string(c.dir[0].bytes) +
          ",\"bytes_to_client\":" + std::to_string(c.dir[1].bytes) + "}");
    }
    for (const auto& f : flows.items) {
      if (!f.live) continue;
      uint16_t port = 0;
      auto a = IpAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&f.client), &port);
      add("{\"proto\":\"udp\",\"id\":" + std::to_string(listeners.items[f.listener].rule.id) + ",\"client\":\"" +
          (a ? endpoint(*a, port) : std::string("?")) + "\"}");
    }
    return out + "]";
  }
};

Forwarder::Forwarder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Forwarder::~Forwarder() = default;

Expected<std::unique_ptr<Forwarder>, std::string> Forwarder::create(std::shared_ptr<NsConnector> connector,
                                                                   ForwarderOptions opts) {
  auto impl = std::make_unique<Impl>();
  impl->connector = std::move(connector);
  impl->opts = opts;
  auto r = impl->init();
  if (!r) return unexpected(r.error());
  return std::unique_ptr<Forwarder>(new Forwarder(std::move(impl)));
}

Expected<void, std::string> Forwarder::add(const ForwardRule& rule) { return impl_->add(rule); }
Expected<void, std::string> Forwarder::remove(uint64_t id) { return impl_->remove(id); }
ControlQueue& Forwarder::control() { return impl_->control; }
void Forwarder::request_stop() {
  Impl* impl = impl_.get();
  impl->control.post([impl] { impl->running = false; });
}
int Forwarder::run() { return impl_->run(); }
std::string Forwarder::flows_json() const { return impl_->flows_json(); }
std::string Forwarder::counters_json() const { return impl_->counters_json(); }

}  // namespace netd::portfwd
