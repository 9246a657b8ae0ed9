#include "tap/queue_worker.h"

#include <cerrno>
#include <cstring>

#include "common/event_loop.h"
#include "common/fd_watch.h"
#include "common/log.h"
#include "common/thread_inbox.h"
#include "tap/action_runner.h"
#include "tap/host_sockets.h"
#include "tap/queue_round.h"
#include "tap/stack.h"
#include "tap/tap_port.h"

namespace netd::tap {

namespace {

constexpr unsigned kLoopEntries = 1024;
// What a queue submits: the tap and the control inbox poll; host sockets
// connect, send, receive (multishot for UDP), cancel and close. No accept
// and no read: published ports and the lifecycle watches are queue 0's.
constexpr loop::LoopOps kWorkerOps = loop::LoopOp::Poll | loop::LoopOp::Recv | loop::LoopOp::RecvMultishot |
                                     loop::LoopOp::Send | loop::LoopOp::Connect | loop::LoopOp::Cancel |
                                     loop::LoopOp::CancelAndClose;

}  // namespace

// Members are destroyed in reverse order: the parts before the Stack and
// the Actions they report into, and the loop last of all.
struct QueueWorker::Impl {
  QueueWorkerOptions opts;
  std::unique_ptr<loop::EventLoop> loop;
  Stack stack;
  Actions actions;
  ActionRunner runner;
  std::unique_ptr<HostSockets> sockets;
  std::unique_ptr<TapPort> tap;
  ThreadInbox<std::function<void()>> control{64};
  std::unique_ptr<FdWatch> control_watch;
  bool running = true;
  std::atomic<bool> stop_asked{false};
  mutable std::mutex snapshot_mu;
  Counters snapshot;

  explicit Impl(QueueWorkerOptions o) : opts(std::move(o)), stack(opts.stack) {}

  Expected<void, std::string> init(UniqueFd tap_fd) {
    loop::LoopOptions lo{kLoopEntries, loop::LoopKind::Auto, kWorkerOps};
    lo.runs_on_another_thread = true;  // made now, before the sandbox; run by start()
    auto l = loop::make_event_loop(lo);
    if (!l) return unexpected(l.error());
    loop = std::move(*l);
    sockets = std::make_unique<HostSockets>(*loop, stack, actions, opts.outbound4, opts.outbound6);
    if (auto r = sockets->init(); !r) return r;
    tap = std::make_unique<TapPort>(*loop, std::move(tap_fd), opts.vnet_hdr, stack, actions, nullptr,
                                    [this] { fail(); });
    tap->set_divert([this](std::span<const std::byte> frame, bool offloaded) { return divert(frame, offloaded); });
    tap->start();
    control_watch = std::make_unique<FdWatch>(*loop, control.eventfd(), [this] {
      for (auto& fn : control.take()) fn();
    });
    return {};
  }

  void fail() {
    running = false;
    if (opts.on_failure) opts.on_failure();
  }

  // Frames this queue must not answer go to queue 0 (tap/queue_steering.h).
  bool divert(std::span<const std::byte> frame, bool offloaded) {
    auto knows = [this](wire::IpProto p, const FlowKey& k) { return stack.knows_flow(p, k); };
    if (route_on_worker(frame, stack.config(), *opts.udp_ports, knows) == QueueRoute::Local) return false;
    HandedFrame h{std::vector<std::byte>(frame.begin(), frame.end()), offloaded};
    if (opts.hand_off(std::move(h)))
      ++stack.counters().queue_handoffs;
    else
      ++stack.counters().queue_handoff_drops;
    return true;
  }

  void publish_counters() {
    std::lock_guard lock(snapshot_mu);
    snapshot = stack.counters();
  }

  void run() {
    while (running && !stop_asked.load(std::memory_order_relaxed)) {
      QueueParts parts{*tap, *sockets, nullptr, nullptr, stack.counters()};
      if (int rc = run_queue_round(*loop, stack, actions, runner, parts); rc < 0) {
        LOG_ERROR("queue %u: %s wait failed: %s", opts.index, loop->name(), std::strerror(-rc));
        fail();
        break;
      }
      publish_counters();
    }
    publish_counters();
  }
};

QueueWorker::QueueWorker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

QueueWorker::~QueueWorker() { stop(); }

Expected<std::unique_ptr<QueueWorker>, std::string> QueueWorker::create(UniqueFd tap, QueueWorkerOptions opts) {
  auto impl = std::make_unique<Impl>(std::move(opts));
  if (auto r = impl->init(std::move(tap)); !r)
    return unexpected("queue " + std::to_string(impl->opts.index) + ": " + r.error());
  return std::unique_ptr<QueueWorker>(new QueueWorker(std::move(impl)));
}

void QueueWorker::start() {
  Impl* impl = impl_.get();
  thread_ = std::thread([impl] { impl->run(); });
}

void QueueWorker::stop() {
  if (!thread_.joinable()) return;
  Impl* impl = impl_.get();
  impl->stop_asked.store(true);
  impl->control.post([] {});  // wakes the loop (a full inbox has already woken it)
  thread_.join();
}

bool QueueWorker::post(std::function<void()> fn) { return impl_->control.post(std::move(fn)); }

void QueueWorker::set_outbound(const wire::IpAddr& addr) {
  Impl* impl = impl_.get();
  if (!post([impl, addr] { impl->sockets->set_outbound(addr); }))
    LOG_WARN("queue %u: its control inbox is full; the new outbound address is not taken", impl->opts.index);
}

Counters QueueWorker::counters() const {
  std::lock_guard lock(impl_->snapshot_mu);
  return impl_->snapshot;
}

unsigned QueueWorker::index() const { return impl_->opts.index; }

}  // namespace netd::tap
