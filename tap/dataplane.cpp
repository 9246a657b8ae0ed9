#include "tap/dataplane.h"

#include <signal.h>
#include <sys/resource.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <unordered_map>

#include "common/event_loop.h"
#include "common/fd_watch.h"
#include "common/lifecycle_watch.h"
#include "common/log.h"
#include "common/thread_inbox.h"
#include "tap/action_runner.h"
#include "tap/dns_watcher.h"
#include "tap/host_sockets.h"
#include "tap/pcap_writer.h"
#include "tap/queue_round.h"
#include "tap/queue_worker.h"
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
// Frames the other queues hand to queue 0 that may wait at once (beyond
// it they are dropped and counted: a flood of them must not grow memory).
constexpr size_t kHandoffInbox = 1024;

// The configuration of each queue's Stack: the tap's offloads, and its
// share of the TCP buffer budget (the budget bounds the whole process).
StackConfig queue_config(const DataplaneOptions& o, size_t queues) {
  StackConfig c = o.stack;
  c.tap_offload = o.vnet_hdr;
  c.tcp_buffer_budget = o.stack.tcp_buffer_budget / queues;
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
  ActionRunner runner;
  std::optional<PcapWriter> pcap;
  std::unique_ptr<TapPort> tap;
  std::unique_ptr<HostSockets> sockets;
  std::unique_ptr<PublishedPorts> published;
  std::unique_ptr<DnsWatcher> dns;
  std::unique_ptr<LifecycleWatch> lifecycle;
  std::vector<std::unique_ptr<FdWatch>> control;
  // Queues 1..N-1 of a multi-queue tap (tap/queue_worker.h), the frames
  // they hand to this one, and the guest ports of published UDP ports they
  // steer by (tap/queue_steering.h). The workers come last: they go first,
  // before what they point at.
  ThreadInbox<HandedFrame> handed{kHandoffInbox};
  std::unique_ptr<FdWatch> handed_watch;
  std::atomic<bool> worker_failed{false};
  PublishedGuestPorts udp_ports;
  std::unordered_map<uint64_t, uint16_t> udp_port_of_id;
  std::vector<std::unique_ptr<QueueWorker>> workers;
  bool running = true;
  int exit_status = 0;

  Impl(DataplaneOptions o, size_t queues) : opts(std::move(o)), stack(queue_config(opts, queues)) {}

  Expected<void, std::string> init(std::vector<UniqueFd> tap_fds) {
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
    tap = std::make_unique<TapPort>(*loop, std::move(tap_fds[0]), opts.vnet_hdr, stack, actions,
                                    pcap ? &*pcap : nullptr, [this] { stop(1); });
    tap->start();
    return start_queues(tap_fds);
  }

  // Queues 1..N-1: each a worker with its own loop, Stack and host sockets.
  Expected<void, std::string> start_queues(std::vector<UniqueFd>& tap_fds) {
    if (tap_fds.size() < 2) return {};
    handed_watch = std::make_unique<FdWatch>(*loop, handed.eventfd(), [this] { take_handed(); });
    for (size_t i = 1; i < tap_fds.size(); ++i) {
      QueueWorkerOptions wo;
      wo.index = static_cast<unsigned>(i);
      wo.stack = queue_config(opts, tap_fds.size());
      wo.vnet_hdr = opts.vnet_hdr;
      wo.outbound4 = opts.outbound4;
      wo.outbound6 = opts.outbound6;
      wo.udp_ports = &udp_ports;
      wo.hand_off = [this](HandedFrame f) { return handed.post(std::move(f)); };
      wo.on_failure = [this] {
        worker_failed.store(true);
        handed.post(HandedFrame{});  // (an empty frame: only the wake-up)
      };
      auto w = QueueWorker::create(std::move(tap_fds[i]), std::move(wo));
      if (!w) return unexpected(w.error());
      workers.push_back(std::move(*w));
    }
    return {};
  }

  // Frames other queues handed over: answered here, as if read from our tap
  // (our answers, written to our queue, bring their flow back to it).
  void take_handed() {
    Time now = Clock::now();
    for (auto& f : handed.take()) {
      if (f.bytes.empty()) continue;
      if (pcap) pcap->write(f.bytes);
      stack.on_frame(now, f.bytes, actions, f.offloaded);
    }
    if (worker_failed.load()) {
      LOG_ERROR("a tap queue failed; stopping");
      stop(1);
    }
  }

  // Every queue's counters, summed (the workers' as of their last round).
  Counters all_counters() const {
    Counters sum = stack.counters();
    for (const auto& w : workers) sum += w->counters();
    return sum;
  }

  // One line per queue (what each carried), then the sum: the last
  // "counters" line is the one to read.
  void log_counters() const {
    if (!workers.empty()) {
      auto line = [](unsigned i, const Counters& c) {
        LOG_INFO("queue %u: frames in %llu, out %llu; handed to queue 0: %llu (%llu dropped)", i,
                 static_cast<unsigned long long>(c.frames_in), static_cast<unsigned long long>(c.frames_out),
                 static_cast<unsigned long long>(c.queue_handoffs),
                 static_cast<unsigned long long>(c.queue_handoff_drops));
      };
      line(0, stack.counters());
      for (const auto& w : workers) line(w->index(), w->counters());
    }
    LOG_INFO("counters %s", all_counters().to_json().c_str());
  }

  void stop(int status) {
    running = false;
    exit_status = status;
  }

  void on_signal(int sig) {
    if (sig != SIGUSR1) return;
    log_counters();
    if (pcap) pcap->flush();
  }

  QueueParts parts() { return QueueParts{*tap, *sockets, published.get(), dns.get(), stack.counters()}; }

  // ---- the loop ---------------------------------------------------------------
  int run() {
    for (auto& w : workers) w->start();  // (after the sandbox: run() is the last step)
    while (running) {
      if (int rc = run_queue_round(*loop, stack, actions, runner, parts()); rc < 0) {
        LOG_ERROR("%s wait failed: %s", loop->name(), std::strerror(-rc));
        return 1;
      }
    }
    for (auto& w : workers) w->stop();
    if (pcap) pcap->flush();
    log_counters();
    return exit_status;
  }
};

Dataplane::Dataplane(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Dataplane::~Dataplane() = default;

Expected<std::unique_ptr<Dataplane>, std::string> Dataplane::create(UniqueFd tap, DataplaneOptions opts) {
  std::vector<UniqueFd> taps;
  taps.push_back(std::move(tap));
  return create(std::move(taps), std::move(opts));
}

Expected<std::unique_ptr<Dataplane>, std::string> Dataplane::create(std::vector<UniqueFd> taps,
                                                                    DataplaneOptions opts) {
  if (taps.empty()) return unexpected(std::string("no tap queue"));
  auto impl = std::make_unique<Impl>(std::move(opts), taps.size());
  auto r = impl->init(std::move(taps));
  if (!r) return unexpected(r.error());
  return std::unique_ptr<Dataplane>(new Dataplane(std::move(impl)));
}

int Dataplane::run() { return impl_->run(); }
void Dataplane::publish(PublishedPort port) {
  if (port.udp) {
    impl_->udp_ports.add(port.guest_port);
    if (port.id) impl_->udp_port_of_id[port.id] = port.guest_port;
  }
  impl_->published->publish(std::move(port));
}
bool Dataplane::unpublish(uint64_t id) {
  if (!impl_->published->unpublish(id)) return false;
  if (auto it = impl_->udp_port_of_id.find(id); it != impl_->udp_port_of_id.end()) {
    impl_->udp_ports.remove(it->second);
    impl_->udp_port_of_id.erase(it);
  }
  return true;
}
std::string Dataplane::published_flows_json() const { return impl_->published->flows_json(); }
FdWatch& Dataplane::watch_control(int eventfd, std::function<void()> drain) {
  impl_->control.push_back(std::make_unique<FdWatch>(*impl_->loop, eventfd, std::move(drain)));
  return *impl_->control.back();
}
void Dataplane::set_outbound(const wire::IpAddr& addr) {
  impl_->sockets->set_outbound(addr);
  impl_->dns->set_source(addr);
  for (auto& w : impl_->workers) w->set_outbound(addr);
}
bool Dataplane::set_dns_upstreams(std::vector<dns::UpstreamServer> servers) {
  std::optional<wire::IpAddr> tcp = servers.empty() ? std::nullopt : wire::IpAddr::parse(servers.front().addr);
  uint16_t tcp_port = servers.empty() ? 53 : servers.front().port;
  if (!impl_->dns->set_servers(std::move(servers))) return false;
  impl_->stack.set_dns_tcp_upstream(tcp, tcp_port);
  return true;
}
const Stack& Dataplane::stack() const { return impl_->stack; }
Counters Dataplane::counters() const { return impl_->all_counters(); }
size_t Dataplane::queues() const { return 1 + impl_->workers.size(); }
loop::EventLoop& Dataplane::event_loop() { return *impl_->loop; }

}  // namespace netd::tap
