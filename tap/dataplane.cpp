#include "tap/dataplane.h"

#include <signal.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>

#include "common/event_loop.h"
#include "common/fd_watch.h"
#include "common/lifecycle_watch.h"
#include "common/log.h"
#include "tap/dns_watcher.h"
#include "tap/host_sockets.h"
#include "tap/pcap_writer.h"
#include "tap/tap_port.h"

namespace netd::tap {

namespace {

constexpr unsigned kLoopEntries = 1024;
// Every operation the parts below submit; the ring admits nothing else
// (common/event_loop.h, LoopOp). The tap, published ports and watches poll;
// the lifecycle watch reads its signalfd/inotify fd; host sockets connect,
// send, receive (multishot into buffer pools for UDP and ping), cancel, and
// are closed through the ring; published TCP ports accept.
constexpr loop::LoopOps kLoopOps = loop::LoopOp::Poll | loop::LoopOp::Read | loop::LoopOp::Recv |
                                   loop::LoopOp::RecvMultishot | loop::LoopOp::Send | loop::LoopOp::Connect |
                                   loop::LoopOp::Accept | loop::LoopOp::Cancel | loop::LoopOp::CancelAndClose;
// Completions handled per loop round: every completion may add a frame for
// the guest, and those are written only after the round, so an unbounded
// round (a full completion queue after the loop was descheduled in a
// flood) would hold thousands of frames at once.
constexpr unsigned kCompletionBatch = 256;
// Bounded work per wake-up when actions trigger more actions synchronously.
constexpr int kMaxActionRounds = 8;

StackConfig with_offload(const DataplaneOptions& o) {
  StackConfig c = o.stack;
  c.tap_offload = o.vnet_hdr;
  return c;
}

// Every translated connection is a socket: use the whole hard limit.
void raise_fd_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace

// Members are destroyed in reverse order: the parts before the Stack and
// the Actions they report into, and the loop last of all.
struct Dataplane::Impl {
  DataplaneOptions opts;
  std::unique_ptr<loop::EventLoop> loop;
  Stack stack;
  Actions actions;
  Actions batch_;                // apply_round's working copy (reused: no allocation per round)
  std::vector<HostOp> teardown_;  // apply_round's deferred shutdowns and closes
  std::optional<PcapWriter> pcap;
  std::unique_ptr<TapPort> tap;
  std::unique_ptr<HostSockets> sockets;
  std::unique_ptr<PublishedPorts> published;
  std::unique_ptr<DnsWatcher> dns;
  std::unique_ptr<LifecycleWatch> lifecycle;
  std::vector<std::unique_ptr<FdWatch>> control;
  bool running = true;
  int exit_status = 0;

  explicit Impl(DataplaneOptions o) : opts(std::move(o)), stack(with_offload(opts)) {}

  Expected<void, std::string> init(UniqueFd tap_fd) {
    raise_fd_limit();
    auto l = loop::make_event_loop(loop::LoopOptions{kLoopEntries, loop::LoopKind::Auto, kLoopOps});
    if (!l) return unexpected(l.error());
    loop = std::move(*l);
    sockets = std::make_unique<HostSockets>(*loop, stack, actions, opts.outbound4, opts.outbound6);
    if (auto r = sockets->init(); !r) return r;
    published = std::make_unique<PublishedPorts>(*loop, stack, actions, *sockets);

    LifecycleOptions lo;
    lo.other_signals = {SIGHUP, SIGUSR1};  // SIGHUP: swallowed (a closing terminal sends it)
    lo.pid = opts.watch_pid;
    lo.path = opts.watch_path;
    lo.exit_fd = opts.exit_fd;
    auto w = LifecycleWatch::start(*loop, lo, [this] { running = false; }, [this](int sig) { on_signal(sig); });
    if (!w) return unexpected(w.error());
    lifecycle = std::move(*w);

    if (!opts.pcap_path.empty()) {
      auto p = PcapWriter::open(opts.pcap_path, TapPort::kFrameMax);
      if (!p) return unexpected(p.error());
      pcap.emplace(std::move(*p));
    }
    auto d = DnsWatcher::create(*loop, stack, actions, opts.dns_upstreams, opts.outbound4, opts.outbound6);
    if (!d) return unexpected(d.error());
    dns = std::move(*d);
    tap = std::make_unique<TapPort>(*loop, std::move(tap_fd), opts.vnet_hdr, stack, actions, pcap ? &*pcap : nullptr,
                                    [this] { stop(1); });
    tap->start();
    return {};
  }

  void stop(int status) {
    running = false;
    exit_status = status;
  }

  void on_signal(int sig) {
    if (sig != SIGUSR1) return;
    LOG_INFO("counters %s", stack.counters().to_json().c_str());
    if (pcap) pcap->flush();
  }

  // ---- actions -> the parts ---------------------------------------------------
  struct Apply {
    Impl& d;
    Time now;
    void operator()(OpenSocket& o) { d.sockets->open(now, o); }
    void operator()(SendOnSocket&) {}  // in runs: apply_actions
    void operator()(CloseSocket& o) {
      d.published->forget(o.flow);
      d.sockets->close(o);
    }
    void operator()(ForwardDns& o) { d.dns->forward(now, o); }
    void operator()(TcpConnect& o) { d.sockets->connect(now, o); }
    void operator()(TcpPoll& o) { d.sockets->poll(now, o); }
    void operator()(TcpRecv& o) { d.sockets->recv(now, o); }
    void operator()(TcpSend& o) { d.sockets->send(now, o); }
    void operator()(TcpShutdown& o) { d.sockets->shutdown(o); }
    void operator()(SendToPeer& o) { d.published->send_to_peer(now, o); }
  };

  // Ending a flow's socket (shutdown: the peer's FIN processing and its
  // wake-up run inside the call on loopback; close) helps nobody wait less,
  // so it comes after the round's frames and the other requests.
  static bool is_teardown(const HostOp& op) {
    return std::holds_alternative<TcpShutdown>(op) || std::holds_alternative<CloseSocket>(op);
  }

  // One round: the frames already made (they depend on no request of the
  // round), the requests, the frames those just produced (a receive's
  // data, a connect's SYN-ACK), then the teardowns. A frame for the guest
  // thus never waits behind socket work it does not need, nor for a later
  // round. Order within one flow holds: its frames keep their order, and a
  // teardown is its flow's last request of the round.
  void apply_round(Time now) {
    std::swap(batch_, actions);  // the parts below may append new actions
    for (const auto& frame : batch_.to_tap) tap->write(now, frame);
    auto& ops = batch_.to_host;
    for (size_t i = 0; i < ops.size();) {
      if (is_teardown(ops[i])) {
        teardown_.push_back(std::move(ops[i]));
        ++i;
        continue;
      }
      // A burst of one flow's datagrams leaves in as few sends as possible.
      if (auto* first = std::get_if<SendOnSocket>(&ops[i])) {
        size_t j = i + 1;
        while (j < ops.size() && std::holds_alternative<SendOnSocket>(ops[j]) &&
               std::get<SendOnSocket>(ops[j]).flow == first->flow)
          ++j;
        sockets->send_datagrams(now, std::span<HostOp>(ops).subspan(i, j - i));
        i = j;
        continue;
      }
      std::visit(Apply{*this, now}, ops[i]);
      ++i;
    }
    for (const auto& frame : actions.to_tap) tap->write(now, frame);
    actions.to_tap.clear();
    for (auto& op : teardown_) std::visit(Apply{*this, now}, op);
    teardown_.clear();
    batch_.clear();  // (keeps the vectors' capacity for the next round)
  }

  void apply_actions(Time now) {
    for (int round = 0; round < kMaxActionRounds && (!actions.to_tap.empty() || !actions.to_host.empty());
         ++round)
      apply_round(now);
  }

  // ---- the loop ---------------------------------------------------------------
  std::optional<Time> next_deadline(Time now) const {
    std::optional<Time> best = stack.next_deadline();
    for (auto t : {dns->next_deadline(now), published->next_deadline()})
      if (t && (!best || *t < *best)) best = t;
    return best;
  }

  void on_timers(Time now) {
    published->on_timer(now);
    stack.on_timer(now, actions);
    dns->on_timer();
  }

  int run() {
    while (running) {
      Time now = Clock::now();
      auto deadline = next_deadline(now);
      std::optional<Duration> timeout;
      if (deadline) timeout = *deadline > now ? *deadline - now : Duration::zero();
      // Frames waiting on the tap, actions left by a bounded apply round, or
      // completions left by a bounded round: do not sleep.
      if (tap->backlog() || published->backlog() || !actions.to_tap.empty() || !actions.to_host.empty() ||
          loop->has_ready())
        timeout = Duration::zero();
      int rc = loop->wait(timeout);
      if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY) {
        LOG_ERROR("%s wait failed: %s", loop->name(), std::strerror(-rc));
        return 1;
      }
      now = Clock::now();
      loop->dispatch(now, kCompletionBatch);
      sockets->end_of_batch();
      if (tap->backlog()) tap->drain(now);
      if (published->backlog()) published->drain(now);
      if (deadline && now >= *deadline) on_timers(now);
      apply_actions(now);
    }
    if (pcap) pcap->flush();
    LOG_INFO("counters %s", stack.counters().to_json().c_str());
    return exit_status;
  }
};

Dataplane::Dataplane(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Dataplane::~Dataplane() = default;

Expected<std::unique_ptr<Dataplane>, std::string> Dataplane::create(UniqueFd tap, DataplaneOptions opts) {
  auto impl = std::make_unique<Impl>(std::move(opts));
  auto r = impl->init(std::move(tap));
  if (!r) return unexpected(r.error());
  return std::unique_ptr<Dataplane>(new Dataplane(std::move(impl)));
}

int Dataplane::run() { return impl_->run(); }
void Dataplane::publish(PublishedPort port) { impl_->published->publish(std::move(port)); }
bool Dataplane::unpublish(uint64_t id) { return impl_->published->unpublish(id); }
std::string Dataplane::published_flows_json() const { return impl_->published->flows_json(); }
FdWatch& Dataplane::watch_control(int eventfd, std::function<void()> drain) {
  impl_->control.push_back(std::make_unique<FdWatch>(*impl_->loop, eventfd, std::move(drain)));
  return *impl_->control.back();
}
void Dataplane::set_outbound(const wire::IpAddr& addr) {
  impl_->sockets->set_outbound(addr);
  impl_->dns->set_source(addr);
}
bool Dataplane::set_dns_upstreams(std::vector<dns::UpstreamServer> servers) {
  std::optional<wire::IpAddr> tcp = servers.empty() ? std::nullopt : wire::IpAddr::parse(servers.front().addr);
  uint16_t tcp_port = servers.empty() ? 53 : servers.front().port;
  if (!impl_->dns->set_servers(std::move(servers))) return false;
  impl_->stack.set_dns_tcp_upstream(tcp, tcp_port);
  return true;
}
const Stack& Dataplane::stack() const { return impl_->stack; }
loop::EventLoop& Dataplane::event_loop() { return *impl_->loop; }

}  // namespace netd::tap
