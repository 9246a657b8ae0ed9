// The data plane of `netd attach`: one thread, one event loop, one Stack
// (with a multi-queue tap, this is queue 0; each further queue runs on a
// thread of its own: tap/queue_worker.h, started by run()).
//
// Theory of operation: Dataplane is the wiring of small parts, each a
// handler on one loop::EventLoop (common/event_loop.h) and each with its own
// theory of operation:
//   tap/tap_port.h         the tap fd: readiness, a batch of reads, writev
//   tap/host_sockets.h     one host socket per guest flow (UDP, ping, TCP)
//   tap/published_ports.h  host ports whose clients reach the guest
//   tap/dns_watcher.h      the c-ares forwarder of the DNS address
//   common/lifecycle_watch.h  signals, the target's exit, the netns path, the exit fd
//   common/fd_watch.h      the control queue's eventfd
//   tap/pcap_writer.h      --pcap
// A loop round: wait for completions (or the engines' next deadline),
// dispatch a bounded batch of them to their parts, read the tap and the
// published UDP sockets once, run due timers, then carry out the Actions
// the engines produced (frames to the tap, requests to the parts), all
// submitted with the next wait, so a burst of frames costs one system call
// to the loop (tap/queue_round.h, the same round for every queue).
// Control closures (watch_control) run between two batches, on this
// thread, so the engines never see a half-made change.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/expected.h"
#include "common/unique_fd.h"
#include "dns/upstream.h"
#include "tap/published_ports.h"
#include "tap/stack.h"

namespace netd {
class FdWatch;
}

namespace netd::tap {

struct DataplaneOptions {
  StackConfig stack;
  std::vector<dns::UpstreamServer> dns_upstreams;  // empty: DNS queries get SERVFAIL
  std::optional<pid_t> watch_pid;  // exit when this process exits
  std::string watch_path;          // exit when this path is removed or renamed (inotify on its directory)
  int exit_fd = -1;                // exit (status 0) when this fd hangs up (slirp4netns' --exit-fd; not owned)
  std::string pcap_path;           // write every tap frame here
  bool vnet_hdr = false;           // the tap was opened with offloads (TapOptions::offload)
  // --outbound-addr(6): the host sockets of guest flows (TCP, UDP, ping) and
  // the DNS forwarder's bind to this source address before connecting.
  std::optional<wire::IpAddr> outbound4, outbound6;
};

// PublishedPort (the socket, UDP or TCP, the guest port, the guest, the
// id): tap/published_ports.h.

class Dataplane {
 public:
  // Takes ownership of the tap fd. Blocks SIGTERM/SIGINT/SIGHUP/SIGUSR1 for
  // the calling thread (call before starting other threads). Returns a
  // message when a resource or kernel feature is missing.
  static Expected<std::unique_ptr<Dataplane>, std::string> create(UniqueFd tap, DataplaneOptions opts);
  // The same for a multi-queue tap: one fd per queue, queue 0 first. Queue
  // 0 is this object's loop thread; each further queue gets a
  // tap/queue_worker.h, made now and started by run().
  static Expected<std::unique_ptr<Dataplane>, std::string> create(std::vector<UniqueFd> taps,
                                                                  DataplaneOptions opts);
  ~Dataplane();

  // Publishes a port: `socket` is the caller's bound host socket (IPv4 or
  // IPv6): for TCP listening, for UDP just bound. Every connection it accepts
  // (TCP) or datagram it receives (UDP) is carried to guest:guest_port with
  // the client's address as its source; UDP replies leave from `socket`.
  // `id` names it for unpublish() (0: never removed). Loop thread only:
  // before run(), or from a closure run by watch_control().
  void publish(PublishedPort port);
  // Closes the published socket `id`. TCP connections it accepted go on
  // until they end; UDP flows through it end (their replies would have to
  // leave from the closed socket). Returns false for an unknown id.
  bool unpublish(uint64_t id);
  // JSON array of the flows that came in through published ports:
  // [{"id":FORWARD_ID,"proto":"tcp","client":"ADDR:PORT","guest_port":N},...].
  std::string published_flows_json() const;
  // Runs `drain` on the loop thread whenever `eventfd` turns readable (the
  // control thread posted work: portfwd::ControlQueue; a helper's message).
  // Any number of fds; before run(). The watch can be stopped (FdWatch::stop).
  FdWatch& watch_control(int eventfd, std::function<void()> drain);
  // New DNS upstreams (the host's resolv.conf changed): UDP queries from now
  // on go to them, and DNS over TCP to the first; queries in flight finish
  // where they were sent. Loop thread only. False (and a warning logged) if
  // they cannot be used; the old ones stay then.
  bool set_dns_upstreams(std::vector<dns::UpstreamServer> servers);
  // The outbound source address of `addr`'s family is now `addr` (an
  // --outbound-addr interface was renumbered): host sockets opened for new
  // flows, and new DNS upstream sockets, bind to it. Loop thread only.
  void set_outbound(const wire::IpAddr& addr);

  // Runs until SIGTERM/SIGINT, the target goes away or the exit fd hangs
  // up; returns the exit status.
  int run();
  // Queue 0's Stack.
  const Stack& stack() const;
  // Every queue's counters, summed (other queues' as of their last round).
  // Any thread, as Stack::counters was read before.
  Counters counters() const;
  size_t queues() const;
  // The loop the parts submit to (the takeover test reaches the ring through it).
  loop::EventLoop& event_loop();

 private:
  struct Impl;
  explicit Dataplane(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace netd::tap
