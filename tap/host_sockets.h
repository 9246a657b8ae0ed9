// HostSockets: the host side of the guest's flows, one socket per flow.
//
// Theory of operation: the engines name flows by FlowId; this part keeps
// FlowId -> slot (common/slot_table.h) and carries out their socket
// requests (tap/actions.h), reporting results back through the Stack.
// - UDP and ping sockets are connected at once (OpenSocket) and get one
//   multishot receive armed into a pooled buffer; each datagram goes to the
//   Stack, and the buffer back to the pool. Datagrams to the host leave with
//   plain non-blocking sends: a full socket buffer drops and counts them
//   (sends queued on the loop piled up without bound under a flood). A burst
//   of one flow's datagrams leaves as one UDP_SEGMENT send (tap/udp_gso.h)
//   while the path can segment; after EINVAL/EIO/EMSGSIZE, one send each.
// - TCP connects, receives and sends are tried at once with plain
//   non-blocking calls (to the host's loopback a connect is done inside the
//   call, the data is usually there, and a loop round would cost latency);
//   only a connect still in progress (a readiness poll for writability,
//   then SO_ERROR) and a send that finds the buffer full wait on the loop. "Nothing to read yet" is -EAGAIN to the engine, which then
//   asks for a readiness poll, which holds no buffer. Those operations point
//   into engine-owned buffers, so a closed TCP socket's slot lives on until
//   every operation submitted for it has completed and been reported.
// - With --outbound-addr(6) every socket is bound to that source first.
// Out of fds and IPv6-less hosts are said once in the log (rate-limited).
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <unordered_map>

#include "common/event_loop.h"
#include "common/log.h"
#include "common/slot_table.h"
#include "common/unique_fd.h"
#include "tap/actions.h"
#include "tap/sockaddr.h"
#include "tap/stack.h"

namespace netd::tap {

class HostSockets final : public loop::Handler {
 public:
  // `outbound4/6`: source addresses to bind to (--outbound-addr(6)), or none.
  HostSockets(loop::EventLoop& loop, Stack& stack, Actions& actions, std::optional<wire::IpAddr> outbound4,
              std::optional<wire::IpAddr> outbound6);
  // Sets up the receive buffers. Returns a message when that fails.
  Expected<void, std::string> init();
  // Sockets opened from now on bind to `addr` (its family's outbound
  // address changed: netd/outbound_monitor.h); open ones keep theirs.
  void set_outbound(const wire::IpAddr& addr) { (addr.is_v4() ? outbound4_ : outbound6_) = addr; }

  void open(Time now, const OpenSocket& o);
  // `run`: SendOnSocket requests of one flow, in order.
  void send_datagrams(Time now, std::span<HostOp> run);
  void close(const CloseSocket& o);
  void connect(Time now, const TcpConnect& o);
  void poll(Time now, const TcpPoll& o);
  void recv(Time now, const TcpRecv& o);
  void send(Time now, const TcpSend& o);
  void shutdown(const TcpShutdown& o);
  // Takes over `fd`, a connection accepted for `flow` (a published port).
  void adopt(UniqueFd fd, FlowId flow, SocketKind kind);
  // Publishes the receive buffers given back during the batch just handled.
  void end_of_batch();

  void on_completion(Time now, const loop::Completion& c) override;

 private:
  enum class Op : uint8_t { DatagramRecv, TcpConnect, TcpPoll, TcpRecv, TcpSend };
  struct Slot {
    UniqueFd fd;
    FlowId flow = 0;
    SocketKind kind = SocketKind::Udp;
    bool live = false;  // a flow owns it (false: a closed TCP socket waiting for its operations)
    int inflight = 0;   // TCP operations submitted and not completed yet
    bool segmenting = true;  // UDP: bursts may go out with UDP_SEGMENT
    // TCP: the next receive is tried at once; false after a receive came
    // back short, i.e. the socket was drained.
    bool recv_now = true;
    size_t recv_len = 0;  // bytes asked of the receive on the loop
  };

  uint32_t add(UniqueFd fd, FlowId flow, SocketKind kind);
  // The live slot of `flow`, or nullptr; `index` receives its index.
  Slot* slot_for(FlowId flow, uint32_t* index = nullptr);
  void arm_recv(uint32_t index);
  // The outcome of a non-blocking connect whose poll gave `revents`: 0 or an errno.
  static int connect_result(const Slot& s, int revents);
  int open_flow_socket(int family, int type, int protocol);
  void send_one(Time now, Slot& s, const SendOnSocket& o);
  void on_send_error(Time now, Slot& s, int err, size_t datagrams);
  void on_datagram(Time now, const loop::Completion& c);
  void on_tcp(Time now, const loop::Completion& c);
  void note_socket_failure(const wire::IpAddr& dst, int err);
  void note_fd_exhaustion(Time now, int err);

  Stack& stack_;
  Actions& actions_;
  std::optional<wire::IpAddr> outbound4_, outbound6_;
  std::unique_ptr<loop::BufferPool> rx_;
  SlotTable<Slot> slots_;
  std::unordered_map<FlowId, uint32_t> slot_of_flow_;
  bool ipv6_failure_logged_ = false;
  log::RateLimit fd_exhaustion_log_{seconds(10), 1};
};

}  // namespace netd::tap
