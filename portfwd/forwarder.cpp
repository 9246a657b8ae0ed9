#include "portfwd/forwarder.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/event_loop.h"
#include "common/fd_watch.h"
#include "common/lifecycle_watch.h"
#include "common/log.h"
#include "common/net/endpoint.h"
#include "common/slot_table.h"
#include "portfwd/host_socket.h"

namespace netd::portfwd {
namespace {

constexpr unsigned kLoopEntries = 512;
constexpr uint32_t kSpliceChunk = 1 << 16;  // one default pipe's worth
constexpr int kAcceptBatch = 64;            // accepts/datagrams per wake-up, then re-arm
constexpr size_t kDatagramMax = 65536;

// The forwarder's operations. A TCP connection's two directions (0: client
// -> target, 1: target -> client) each have their own code, base + dir.
enum class Op : uint8_t {
  ListenerReady,  // poll: a listening socket has connections or datagrams
  FlowReadable,   // poll: a UDP flow's socket has replies
  Connected,      // poll (POLLOUT): the connect inside the namespace finished
  Wait,           // poll of direction 0 (Wait + 1: direction 1) for what its splice needs
  Wait1,
  Fill,  // splice source socket -> pipe, direction 0 (Fill + 1: direction 1)
  Fill1,
  Empty,  // splice pipe -> destination socket, direction 0 (Empty + 1: direction 1)
  Empty1,
};
constexpr Op with_dir(Op base, uint32_t dir) { return static_cast<Op>(static_cast<uint8_t>(base) + dir); }

void set_linger_zero(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

// Owns the loop, so that the loop outlives every handler (Impl's members
// and Impl itself, whose destructors run first).
struct LoopHolder {
  std::unique_ptr<loop::EventLoop> owned_loop;
};

}  // namespace

struct Forwarder::Impl final : LoopHolder, loop::Handler {
  struct Listener {
    UniqueFd fd;
    Forward rule;
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
    bool connecting = false;
    bool aborting = false;
    int inflight = 0;
    uint64_t rule_id = 0;
    net::Endpoint peer;
  };
  struct Flow {
    UniqueFd fd;  // connected inside the namespace
    uint32_t listener = 0;
    sockaddr_storage client{};
    socklen_t client_len = 0;
    Time last_active{};
    bool polling = false;
  };
  struct Counters {
    uint64_t tcp_accepted = 0, tcp_connect_failed = 0, tcp_reset = 0, tcp_closed = 0;
    uint64_t bytes_to_target = 0, bytes_to_client = 0;
    uint64_t udp_flows_opened = 0, udp_flows_expired = 0, udp_to_target = 0, udp_to_client = 0, udp_dropped = 0;
  };

  std::shared_ptr<Connector> connector;
  ForwarderOptions opts;
  ControlQueue control;
  std::unique_ptr<FdWatch> control_watch;
  std::unique_ptr<LifecycleWatch> lifecycle;
  SlotTable<Listener> listeners;
  SlotTable<Conn> conns;
  SlotTable<Flow> flows;
  std::map<std::string, uint32_t> flow_by_client;  // listener index + client address -> flow
  std::vector<std::byte> dgram = std::vector<std::byte>(kDatagramMax);
  Counters counters;
  bool running = true;

  Impl(std::unique_ptr<loop::EventLoop> l, std::shared_ptr<Connector> c, ForwarderOptions o)
      : LoopHolder{std::move(l)}, Handler(*owned_loop), connector(std::move(c)), opts(o) {}
  // Stopping: the ring's pending polls hold the TCP listeners until its
  // teardown, some 50 ms after the process is gone; shut down, a listener
  // no longer blocks a successor's bind of its port (both SO_REUSEADDR).
  ~Impl() override {
    listeners.for_each([](uint32_t, const Listener& l) {
      if (l.rule.proto == Proto::Tcp) ::shutdown(l.fd.get(), SHUT_RDWR);
    });
  }

  // ---- set-up --------------------------------------------------------------
  Expected<void, std::string> init() {
    LifecycleOptions lo;
    lo.stop_signals.clear();
    if (opts.handle_signals) lo.stop_signals = {SIGTERM, SIGINT, SIGHUP};
    lo.exit_fd = opts.exit_fd;
    auto w = LifecycleWatch::start(*owned_loop, lo, [this] { running = false; });
    if (!w) return unexpected(w.error());
    lifecycle = std::move(*w);
    control_watch = std::make_unique<FdWatch>(*owned_loop, control.eventfd(), [this] { control.drain(); });
    return {};
  }

  void arm_poll(Op op, int fd, unsigned events, uint32_t slot, uint16_t gen) {
    loop().poll(tag(op, slot, gen), fd, events);
  }
  void arm_listener(uint32_t i) {
    arm_poll(Op::ListenerReady, listeners[i].fd.get(), POLLIN, i, listeners.generation(i));
  }
  void arm_flow(uint32_t fi) {
    flows[fi].polling = true;
    arm_poll(Op::FlowReadable, flows[fi].fd.get(), POLLIN, fi, flows.generation(fi));
  }

  // ---- rules ---------------------------------------------------------------
  Expected<void, std::string> add(const Forward& rule) {
    if (has_rule(rule.id)) return unexpected("forward id " + std::to_string(rule.id) + " exists");
    auto opened = open_host_socket(rule.host_addr, rule.host_port, rule.proto, true);
    if (!opened) return unexpected(opened.error());
    return adopt(rule, std::move(*opened));
  }

  bool has_rule(uint64_t id) const {
    bool exists = false;
    listeners.for_each([&](uint32_t, const Listener& l) { exists |= l.rule.id == id; });
    return exists;
  }

  Expected<void, std::string> adopt(const Forward& rule, UniqueFd listener) {
    if (has_rule(rule.id)) return unexpected("forward id " + std::to_string(rule.id) + " exists");
    uint32_t i = listeners.take();
    listeners[i].fd = std::move(listener);
    listeners[i].rule = rule;
    arm_listener(i);
    LOG_INFO("forwarding %s/%s -> %s", net::to_string(net::Endpoint{rule.host_addr, rule.host_port}).c_str(),
             proto_name(rule.proto), net::to_string(net::Endpoint{rule.guest_addr, rule.guest_port}).c_str());
    return {};
  }

  Expected<void, std::string> remove(uint64_t id) {
    std::optional<uint32_t> found;
    listeners.for_each([&](uint32_t i, const Listener& l) {
      if (l.rule.id == id) found = i;
    });
    if (!found) return unexpected("no forward with id " + std::to_string(id));
    const uint32_t i = *found;
    loop().cancel(tag(Op::ListenerReady, i, listeners.generation(i)));
    // UDP flows of this listener reply through its socket: close them too.
    flows.for_each([&](uint32_t f, const Flow& flow) {
      if (flow.listener == i) close_flow(f);
    });
    listeners.release(i);  // closes the socket; the cancelled poll is stale now
    return {};
  }

  // ---- dispatch ------------------------------------------------------------
  void on_completion(Time, const loop::Completion& c) override {
    const uint32_t i = c.tag.slot;
    const uint16_t gen = c.tag.generation;
    const Op op = static_cast<Op>(c.tag.op);
    switch (op) {
      case Op::ListenerReady:
        if (Listener* l = listeners.find(i, gen)) {
          if (l->rule.proto == Proto::Tcp) on_accept(i);
          else on_udp_listener(i);
        }
        return;
      case Op::FlowReadable:
        if (Flow* f = flows.find(i, gen)) {
          f->polling = false;
          on_flow_readable(i);
        }
        return;
      default:
        if (conns.find(i, gen)) on_conn(i, op, c.res);
        return;
    }
  }

  // ---- TCP -----------------------------------------------------------------
  void on_accept(uint32_t li) {
    for (int n = 0; n < kAcceptBatch; ++n) {
      sockaddr_storage peer{};
      socklen_t plen = sizeof peer;
      int fd = ::accept4(listeners[li].fd.get(), reinterpret_cast<sockaddr*>(&peer), &plen,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        const Forward& r = listeners[li].rule;
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
          LOG_WARN("accept on %s: %s", net::to_string(net::Endpoint{r.host_addr, r.host_port}).c_str(), std::strerror(errno));
        break;
      }
      start_conn(li, UniqueFd(fd), peer);
    }
    arm_listener(li);
  }

  void start_conn(uint32_t li, UniqueFd client, const sockaddr_storage& peer) {
    Forward rule = listeners[li].rule;
    ++counters.tcp_accepted;
    auto target = connector->connect(Proto::Tcp, rule.guest_addr, rule.guest_port);
    if (!target) {
      ++counters.tcp_connect_failed;
      LOG_WARN("connection to %s: %s", net::to_string(net::Endpoint{rule.guest_addr, rule.guest_port}).c_str(), target.error().c_str());
      set_linger_zero(client.get());
      return;
    }
    uint32_t ci = conns.take();
    Conn& c = conns[ci];
    c.connecting = true;
    c.rule_id = rule.id;
    c.client = std::move(client);
    c.target = std::move(*target);
    if (auto e = net::endpoint_from(peer)) c.peer = *e;
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
    arm_poll(Op::Connected, c.target.get(), POLLOUT, ci, conns.generation(ci));
  }

  static int src_of(const Conn& c, uint32_t d) { return d == 0 ? c.client.get() : c.target.get(); }
  static int dst_of(const Conn& c, uint32_t d) { return d == 0 ? c.target.get() : c.client.get(); }

  void on_connected(uint32_t ci, int res) {
    Conn& c = conns[ci];
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
  }

  void on_conn(uint32_t ci, Op op, int res) {
    Conn& c = conns[ci];
    --c.inflight;
    if (op == Op::Connected) return on_connected(ci, res);
    const auto code = static_cast<uint8_t>(op);
    const uint32_t sub = (code - static_cast<uint8_t>(Op::Wait)) % 2;
    Dir& d = c.dir[sub];
    d.busy = false;
    if (c.aborting) return maybe_free(ci);
    if (op == with_dir(Op::Fill, sub)) {  // src -> pipe
      if (res > 0) d.in_pipe += static_cast<size_t>(res);
      else if (res == 0) d.src_eof = true;
      else if (res == -EAGAIN) return wait_for(ci, sub, src_of(c, sub), POLLIN);
      else return reset(ci, sub, -res);
    } else if (op == with_dir(Op::Empty, sub)) {  // pipe -> dst
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
    Conn& c = conns[ci];
    c.dir[sub].busy = true;
    ++c.inflight;
    arm_poll(with_dir(Op::Wait, sub), fd, events, ci, conns.generation(ci));
  }

  // Issues the next step of direction `sub`: drain the pipe, else refill it,
  // else (source at EOF) pass the half-close on.
  void pump(uint32_t ci, uint32_t sub) {
    Conn& c = conns[ci];
    Dir& d = c.dir[sub];
    if (d.done || d.busy || c.aborting) return;
    const unsigned flags = SPLICE_F_NONBLOCK | SPLICE_F_MOVE;
    const uint16_t gen = conns.generation(ci);
    if (d.in_pipe > 0) {
      loop().splice(tag(with_dir(Op::Empty, sub), ci, gen), d.pipe_r.get(), dst_of(c, sub),
                    static_cast<unsigned>(d.in_pipe), flags);
    } else if (!d.src_eof) {
      loop().splice(tag(with_dir(Op::Fill, sub), ci, gen), src_of(c, sub), d.pipe_w.get(), kSpliceChunk, flags);
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
    LOG_DEBUG("connection from %s: %s on the %s side; resetting", net::to_string(conns[ci].peer).c_str(),
              std::strerror(err), sub == 0 ? "client" : "target");
    abort_conn(ci);
  }

  void abort_conn(uint32_t ci) {
    Conn& c = conns[ci];
    if (!c.aborting) {
      c.aborting = true;
      if (c.client) set_linger_zero(c.client.get());
      if (c.target) set_linger_zero(c.target.get());
      const uint16_t gen = conns.generation(ci);
      for (Op op : {Op::Connected, Op::Wait, Op::Wait1, Op::Fill, Op::Fill1, Op::Empty, Op::Empty1})
        loop().cancel(tag(op, ci, gen));
    }
    maybe_free(ci);
  }

  // Frees the slot (closing sockets and pipes) once nothing is in flight.
  void maybe_free(uint32_t ci) {
    Conn& c = conns[ci];
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
      sockaddr_storage from{};
      socklen_t flen = sizeof from;
      ssize_t got = ::recvfrom(listeners[li].fd.get(), dgram.data(), dgram.size(), MSG_DONTWAIT,
                               reinterpret_cast<sockaddr*>(&from), &flen);
      if (got < 0) break;
      uint32_t fi = flow_for(li, from, flen);
      if (fi == UINT32_MAX) {
        ++counters.udp_dropped;
        continue;
      }
      Flow& f = flows[fi];
      f.last_active = Clock::now();
      if (::send(f.fd.get(), dgram.data(), static_cast<size_t>(got), MSG_DONTWAIT) < 0) ++counters.udp_dropped;
      else ++counters.udp_to_target;
    }
    arm_listener(li);
  }

  // The flow of this client on listener li, opened on first use; UINT32_MAX on failure.
  uint32_t flow_for(uint32_t li, const sockaddr_storage& from, socklen_t flen) {
    std::string key = flow_key(li, from, flen);
    auto it = flow_by_client.find(key);
    if (it != flow_by_client.end()) return it->second;
    const Forward& rule = listeners[li].rule;
    auto s = connector->connect(Proto::Udp, rule.guest_addr, rule.guest_port);
    if (!s) {
      LOG_WARN("UDP flow to %s: %s", net::to_string(net::Endpoint{rule.guest_addr, rule.guest_port}).c_str(), s.error().c_str());
      return UINT32_MAX;
    }
    uint32_t fi = flows.take();
    Flow& f = flows[fi];
    f.fd = std::move(*s);
    f.listener = li;
    f.client = from;
    f.client_len = flen;
    arm_flow(fi);
    flow_by_client[key] = fi;
    ++counters.udp_flows_opened;
    return fi;
  }

  void on_flow_readable(uint32_t fi) {
    for (int n = 0; n < kAcceptBatch; ++n) {
      Flow& f = flows[fi];
      ssize_t got = ::recv(f.fd.get(), dgram.data(), dgram.size(), MSG_DONTWAIT);
      if (got < 0) {
        if (errno == EAGAIN || errno == EINTR) break;
        continue;  // ECONNREFUSED from an ICMP error: nothing to tell a UDP client
      }
      f.last_active = Clock::now();
      if (::sendto(listeners[f.listener].fd.get(), dgram.data(), static_cast<size_t>(got), MSG_DONTWAIT,
                   reinterpret_cast<const sockaddr*>(&f.client), f.client_len) < 0)
        ++counters.udp_dropped;
      else ++counters.udp_to_client;
    }
    arm_flow(fi);
  }

  void close_flow(uint32_t fi) {
    Flow& f = flows[fi];
    if (f.polling) loop().cancel(tag(Op::FlowReadable, fi, flows.generation(fi)));
    flow_by_client.erase(flow_key(f.listener, f.client, f.client_len));
    flows.release(fi);
  }

  void expire_flows(Time now) {
    flows.for_each([&](uint32_t fi, const Flow& f) {
      if (now - f.last_active < opts.udp_idle) return;
      ++counters.udp_flows_expired;
      close_flow(fi);
    });
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
      int rc = owned_loop->wait(timeout);
      if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY) {
        LOG_ERROR("%s wait failed: %s", owned_loop->name(), std::strerror(-rc));
        return 1;
      }
      Time now = Clock::now();
      owned_loop->dispatch(now, ~0u);
      if (now >= next_expiry) {
        expire_flows(now);
        next_expiry = now + seconds(1);
      }
    }
    LOG_INFO("counters %s", counters_json().c_str());
    return 0;
  }

  // ---- JSON for the API (keys in this order: clients parse them) ----------
  std::string counters_json() const {
    const Counters& k = counters;
    nlohmann::ordered_json j = {{"tcp_accepted", k.tcp_accepted},
                                {"tcp_active", conns.count()},
                                {"tcp_closed", k.tcp_closed},
                                {"tcp_reset", k.tcp_reset},
                                {"tcp_connect_failed", k.tcp_connect_failed},
                                {"bytes_to_target", k.bytes_to_target},
                                {"bytes_to_client", k.bytes_to_client},
                                {"udp_active", flows.count()},
                                {"udp_flows_opened", k.udp_flows_opened},
                                {"udp_flows_expired", k.udp_flows_expired},
                                {"udp_to_target", k.udp_to_target},
                                {"udp_to_client", k.udp_to_client},
                                {"udp_dropped", k.udp_dropped}};
    return j.dump();
  }

  std::string flows_json() const {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    conns.for_each([&](uint32_t, const Conn& c) {
      out.push_back({{"proto", "tcp"},
                     {"id", c.rule_id},
                     {"client", net::to_string(c.peer)},
                     {"bytes_to_target", c.dir[0].bytes},
                     {"bytes_to_client", c.dir[1].bytes}});
    });
    flows.for_each([&](uint32_t, const Flow& f) {
      auto e = net::endpoint_from(f.client);
      out.push_back({{"proto", "udp"},
                     {"id", listeners[f.listener].rule.id},
                     {"client", e ? net::to_string(*e) : std::string("?")}});
    });
    return out.dump();
  }
};

Forwarder::Forwarder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Forwarder::~Forwarder() = default;

Expected<std::unique_ptr<Forwarder>, std::string> Forwarder::create(std::shared_ptr<Connector> connector,
                                                                   ForwarderOptions opts) {
  // What the forwarder submits, and all its ring admits (common/event_loop.h):
  // readiness polls (listeners, connects, UDP flows, the lifecycle and
  // control watches), reads of the lifecycle watch's fds, splices, cancels.
  constexpr loop::LoopOps kLoopOps =
      loop::LoopOp::Poll | loop::LoopOp::Read | loop::LoopOp::Splice | loop::LoopOp::Cancel;
  static_assert(ForwarderOptions::kMaxQueuedBeforeRun + 8 <= kLoopEntries, "the watches' requests fit too");
  auto l = loop::make_event_loop(
      loop::LoopOptions{kLoopEntries, loop::LoopKind::Auto, kLoopOps, opts.runs_on_another_thread});
  if (!l) return unexpected(l.error());
  auto impl = std::make_unique<Impl>(std::move(*l), std::move(connector), opts);
  auto r = impl->init();
  if (!r) return unexpected(r.error());
  return std::unique_ptr<Forwarder>(new Forwarder(std::move(impl)));
}

Expected<void, std::string> Forwarder::add(const Forward& rule) { return impl_->add(rule); }
Expected<void, std::string> Forwarder::adopt(const Forward& rule, UniqueFd listener) {
  return impl_->adopt(rule, std::move(listener));
}
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
