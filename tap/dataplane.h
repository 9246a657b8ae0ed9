// The data plane of `netd attach`: one thread, one io_uring, one Stack.
//
// Theory of operation: the tap fd has a multishot poll on the ring and is
// read with plain non-blocking reads, once per loop round (up to kTapBatch
// frames: tun files cannot take io_uring's non-blocking attempts, see
// init()); each frame goes through Stack::on_frame, which answers with
// Actions. Host sockets (connected UDP and ping sockets) each have one
// multishot receive armed into a provided-buffer ring; a burst of one flow's
// datagrams leaves with one segmented send (tap/udp_gso.h). c-ares' sockets (DNS forwarding) are watched with poll requests on
// the same ring, and signals arrive through a signalfd read on it, the target
// process's exit through a pidfd poll. After a batch of completions, the
// actions of the whole batch are turned into SQEs and submitted with the next
// wait, so a burst of frames costs one io_uring_enter. Timers are the wait's
// timeout, computed from the engines' next deadlines.
//
// Published ports: TCP listeners accept with a multishot accept; UDP ones
// have a multishot poll and are drained with plain non-blocking recvfrom
// (like the tap), replies leave them with sendto. Ports can be added and
// removed while traffic flows, from closures the control thread queues
// (watch_control): they run between two batches of completions, on this
// thread, so the engines never see a half-made change.
//
// Completions carry a uring::Tag (op, slot, generation); a completion for a
// slot that was closed and reused since is recognised by its generation and
// only its buffer is returned.
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
#include "tap/stack.h"

namespace netd::tap {

struct DataplaneOptions {
  StackConfig stack;
  std::vector<dns::UpstreamServer> dns_upstreams;  // empty: DNS queries get SERVFAIL
  std::optional<pid_t> watch_pid;  // exit when this process exits
  std::string watch_path;          // exit when this path is removed or renamed (inotify on its directory)
  std::string pcap_path;           // write every tap frame here
  bool vnet_hdr = false;           // the tap was opened with offloads (TapOptions::offload)
  // --outbound-addr(6): the host sockets of guest flows (TCP, UDP, ping) and
  // the DNS forwarder's bind to this source address before connecting.
  std::optional<wire::IpAddr> outbound4, outbound6;
};

struct PublishedPort {
  UniqueFd socket;
  bool udp = false;
  uint16_t guest_port = 0;
  std::optional<wire::Ipv4Addr> guest;  // default: the guest address
  uint64_t id = 0;
};

class Dataplane {
 public:
  // Takes ownership of the tap fd. Blocks SIGTERM/SIGINT/SIGHUP/SIGUSR1 for
  // the calling thread (call before starting other threads). Returns a
  // message when a resource or kernel feature is missing.
  static Expected<std::unique_ptr<Dataplane>, std::string> create(UniqueFd tap, DataplaneOptions opts);
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
  // control thread posted work: portfwd::ControlQueue). Before run().
  void watch_control(int eventfd, std::function<void()> drain);

  // Runs until SIGTERM/SIGINT or the target goes away; returns the exit status.
  int run();
  const Stack& stack() const;

 private:
  struct Impl;
  explicit Dataplane(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace netd::tap
