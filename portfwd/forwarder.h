// Forwarder: host ports -> addresses inside a network namespace, without a
// tap. The engine of `netd forward`, the interim TCP/UDP backend of
// `netd slirp4netns`'s add_hostfwd, and (the other way round: listeners
// inside the namespace, adopted; targets on the host) of `netd pasta -T/-U`.
//
// Theory of operation: one thread, one loop::EventLoop (common/event_loop.h).
// Each rule owns a listening socket on the host. TCP: an accepted connection
// gets a peer socket from the Connector (portfwd/connector.h; the
// NsConnector starts the connect inside the namespace); once that connect
// completes, bytes move in both directions with splice(2) through a pipe per direction, never through user space:
// splice socket -> pipe, then pipe -> other socket, one request in flight per
// direction. All fds are non-blocking; a splice that finds nothing to do
// (-EAGAIN) arms a poll for the readiness it needs and is retried when it
// fires. EOF on one side becomes shutdown(SHUT_WR) on the other (half-close);
// an error (a reset) aborts the connection and closes both sides with
// SO_LINGER 0, so the other peer sees a reset too. UDP: per client address
// flows, each with a connected socket from the Connector, replies sent back
// from the listening socket to the client, idle flows expire.
//
// Listeners, connections and flows live in slot tables (common/slot_table.h);
// a completion's tag names the table by its operation and the object by slot
// and generation, so a completion for a closed object is dropped. Stop
// signals and the exit fd are a LifecycleWatch (common/lifecycle_watch.h),
// the control queue's eventfd an FdWatch, as in `netd attach`'s data plane.
//
// The source address is lost: inside the namespace the connection comes from
// the namespace's own address (as with rootlessport).
//
// Threading: create(), add(), remove(), run() on one thread (the loop has a
// single submitter). Other threads use control().post() or request_stop().
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/expected.h"
#include "common/time.h"
#include "portfwd/control_queue.h"
#include "portfwd/forward.h"
#include "portfwd/connector.h"
#include "portfwd/port_spec.h"

namespace netd::portfwd {

struct ForwarderOptions {
  Duration udp_idle = seconds(60);  // a UDP flow without traffic for this long is closed
  bool handle_signals = true;       // SIGTERM/SIGINT (signalfd) stop the loop with status 0
  int exit_fd = -1;                 // when >= 0: hang-up (writer closed) stops the loop with 0
  // run() is called on another thread than create() (LoopOptions): then at
  // most kMaxQueuedBeforeRun listeners may be added before run().
  bool runs_on_another_thread = false;
  static constexpr unsigned kMaxQueuedBeforeRun = 500;
};

class Forwarder {
 public:
  static Expected<std::unique_ptr<Forwarder>, std::string> create(std::shared_ptr<Connector> connector,
                                                                 ForwarderOptions opts);
  ~Forwarder();

  // Binds the rule's host socket and starts serving it. Returns a one-line
  // message (bind_error_message) on failure. Loop thread only.
  Expected<void, std::string> add(const Forward& rule);
  // Serves `listener`, a socket already bound (and, for TCP, listening) by
  // the caller, e.g. inside a namespace (netd pasta -T/-U), as rule `rule`
  // (whose host side then only names the socket in messages). The socket
  // must be non-blocking. Loop thread only.
  Expected<void, std::string> adopt(const Forward& rule, UniqueFd listener);
  // Stops accepting for rule `id`; its open connections and flows continue
  // until they end (TCP) or idle out (UDP). Loop thread only.
  Expected<void, std::string> remove(uint64_t id);

  // Work for the loop thread from any other thread (API server).
  ControlQueue& control();
  // Asks run() to return 0 soon. Thread-safe.
  void request_stop();
  // Runs until stopped; returns the exit status.
  int run();

  // JSON texts for the API (loop thread only).
  std::string flows_json() const;
  std::string counters_json() const;

 private:
  struct Impl;
  explicit Forwarder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace netd::portfwd
