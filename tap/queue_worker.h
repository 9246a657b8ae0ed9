// QueueWorker: one extra queue of a multi-queue tap (`netd attach
// --queues N`, N > 1), on a thread of its own.
//
// Theory of operation: queue 0 is the Dataplane itself (tap/dataplane.h),
// which also owns the published ports, the DNS forwarder, the control
// closures and the lifecycle watches. Each further queue is a QueueWorker:
// its own loop::EventLoop (io_uring or epoll, as the process uses), its own
// Stack with unchanged engines, its own HostSockets, and a TapPort on its
// own queue fd; its rounds are queue 0's without the parts it lacks. The
// kernel keeps each flow on one queue (tap/queue_steering.h), so a queue
// sees every frame of the flows it answers and the Stacks share no state
// but the configuration. Frames a queue must not answer itself go to queue
// 0 through `hand_off` (a bounded inbox: one drop is counted per frame that
// found it full), and so reach queue 0's Stack as if read from its tap.
//
// Everything is made by create(), before the sandbox (io_uring_setup is on
// no seccomp list; the ring is enabled by the worker's first wait, which
// makes the worker thread its single issuer). start() runs the thread;
// stop() (or the destructor) ends it through the control inbox and joins
// it. Other threads talk to a worker only through post() and counters().
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/expected.h"
#include "common/unique_fd.h"
#include "tap/counters.h"
#include "tap/queue_steering.h"
#include "tap/stack_config.h"

namespace netd::tap {

// A frame one queue read and queue 0 must answer (its virtio-net header
// already taken off: `offloaded` says what it held).
struct HandedFrame {
  std::vector<std::byte> bytes;
  bool offloaded = false;
};

struct QueueWorkerOptions {
  unsigned index = 1;  // for the log: queue 1..N-1
  StackConfig stack;   // with this queue's share of the TCP buffer budget
  bool vnet_hdr = false;
  std::optional<wire::IpAddr> outbound4, outbound6;
  const PublishedGuestPorts* udp_ports = nullptr;  // owned by queue 0, outlives the worker
  // Thread-safe: queues `frame` for queue 0; false when its inbox is full.
  std::function<bool(HandedFrame frame)> hand_off;
  // Thread-safe: the worker's tap or loop failed (it stopped itself).
  std::function<void()> on_failure;
};

class QueueWorker {
 public:
  static Expected<std::unique_ptr<QueueWorker>, std::string> create(UniqueFd tap, QueueWorkerOptions opts);
  ~QueueWorker();  // stop()
  void start();
  // Ends the thread (after its current round) and waits for it.
  void stop();
  // Runs `fn` on the worker's thread between two rounds; false if its inbox
  // is full. The closure may use outbound setters (set_outbound).
  bool post(std::function<void()> fn);
  // Host sockets of flows opened from now on bind to `addr` (posted).
  void set_outbound(const wire::IpAddr& addr);
  // The worker's counters as of its last round.
  Counters counters() const;
  unsigned index() const;

 private:
  struct Impl;
  explicit QueueWorker(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
};

}  // namespace netd::tap
