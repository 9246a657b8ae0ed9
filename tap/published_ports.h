// PublishedPorts: host sockets whose clients reach the guest (`-p`, and the
// API's add_hostfwd through netd/stack_backend.h).
//
// Theory of operation: the listening (TCP) or bound (UDP) socket lives in
// netd's own namespace. TCP listeners accept with a multishot accept; each
// connection goes to TcpEngine through Stack::on_tcp_inbound, which opens a
// connection to the guest *from the client's address* (the source address
// rootlessport loses), and its socket joins HostSockets like any other
// connection. Out of fds, accepting pauses for a second instead of failing
// at once again. UDP sockets have a multishot readiness poll and are
// drained once per loop round with non-blocking recvfrom (like the tap);
// each datagram becomes an inbound flow of the UDP engine, and the guest's
// replies (SendToPeer) leave from the same socket with sendto, so the client
// hears from the port it wrote to.
//
// Ports come and go while traffic flows (publish/unpublish run on the loop
// thread, between two batches). Listener slots are never reused: the UDP
// engine keys its inbound flows by listener index, and a completion or a
// reply for a removed port must find it closed, not a newcomer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/event_loop.h"
#include "common/log.h"
#include "common/unique_fd.h"
#include "tap/actions.h"
#include "tap/stack.h"

namespace netd::tap {

class HostSockets;

struct PublishedPort {
  UniqueFd socket;
  bool udp = false;
  uint16_t guest_port = 0;
  std::optional<wire::Ipv4Addr> guest;  // default: the guest address
  uint64_t id = 0;
};

class PublishedPorts final : public loop::Handler {
 public:
  PublishedPorts(loop::EventLoop& loop, Stack& stack, Actions& actions, HostSockets& sockets);
  // Stops the TCP listeners at once (below), for a successor netd.
  ~PublishedPorts() override;

  // Starts serving `p` (see Dataplane::publish).
  void publish(PublishedPort p);
  // Closes port `id`; false for an unknown id (see Dataplane::unpublish).
  bool unpublish(uint64_t id);
  // The flows that came in through published ports, as a JSON array (see
  // Dataplane::published_flows_json).
  std::string flows_json() const;

  // A guest reply to a published UDP port's client.
  void send_to_peer(Time now, const SendToPeer& o);
  // Flow `flow` ended (CloseSocket): it leaves the flow list.
  void forget(FlowId flow) { inbound_.erase(flow); }

  // Some published UDP socket may have datagrams waiting.
  bool backlog() const { return udp_backlog_; }
  // Reads each waiting UDP socket, up to a batch each.
  void drain(Time now);
  // When paused accepts are tried again, if any are.
  std::optional<Time> next_deadline() const { return accept_retry_at_; }
  void on_timer(Time now);

  void on_completion(Time now, const loop::Completion& c) override;

 private:
  enum class Op : uint8_t { Accept, UdpReadable };
  struct Listener {
    UniqueFd fd;
    bool udp = false;
    uint16_t guest_port = 0;
    std::optional<wire::Ipv4Addr> guest;
    uint64_t id = 0;
    bool live = true;
    bool paused = false;   // TCP out of fds: re-armed by the timer, not at once
    bool backlog = false;  // UDP: datagrams may wait (poll fired, or the last drain hit the batch limit)
  };
  // A flow that came in through a published port (for the flow list).
  struct InboundFlow {
    uint32_t listener = 0;
    HostPeer client;
  };

  void arm(uint32_t i);
  void on_accept(Time now, const loop::Completion& c);
  void on_udp_readable(const loop::Completion& c);
  void drain_udp(Time now, uint32_t i);

  Stack& stack_;
  Actions& actions_;
  HostSockets& sockets_;
  std::vector<Listener> listeners_;
  std::unordered_map<FlowId, InboundFlow> inbound_;
  std::vector<std::byte> udp_buf_ = std::vector<std::byte>(65536);
  bool udp_backlog_ = false;
  std::optional<Time> accept_retry_at_;
  log::RateLimit accept_error_log_{seconds(10), 3};
  log::RateLimit send_error_log_{seconds(10), 3};
};

}  // namespace netd::tap
