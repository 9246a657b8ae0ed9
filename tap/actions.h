// What the protocol engines ask of the event loop.
//
// Engines never touch fds: they append frames for the guest and requests for
// host sockets to an Actions, and the loop (tap/dataplane) carries them out in
// one batch. Host sockets are named by a FlowId the engine picked; the loop
// keeps the FlowId -> socket map and reports results back by FlowId.
#pragma once

#include <cstddef>
#include <cstdint>
#include <variant>
#include <vector>

#include "tap/wire/types.h"

namespace netd::tap {

using Frame = std::vector<std::byte>;
// Never reused within one netd process (64 bits do not wrap in practice).
using FlowId = uint64_t;

enum class SocketKind : uint8_t {
  Udp,   // SOCK_DGRAM UDP, connected to dst:port
  Ping,  // SOCK_DGRAM IPPROTO_ICMP ("ping socket"), connected to dst
};

// Create a socket of `kind`, connect it to dst:port, and start receiving.
struct OpenSocket {
  FlowId flow;
  SocketKind kind;
  wire::Ipv4Addr dst;
  uint16_t port = 0;
};
// Send one datagram on the flow's socket (for Ping: an ICMP echo message).
struct SendOnSocket {
  FlowId flow;
  std::vector<std::byte> data;
};
struct CloseSocket {
  FlowId flow;
};
// Hand a DNS query to the upstream forwarder; the answer (or failure) comes
// back through Stack::on_dns_reply with the same token.
struct ForwardDns {
  uint64_t token;
  std::vector<std::byte> query;
};

using HostOp = std::variant<OpenSocket, SendOnSocket, CloseSocket, ForwardDns>;

struct Actions {
  std::vector<Frame> to_tap;
  std::vector<HostOp> to_host;
  void clear() {
    to_tap.clear();
    to_host.clear();
  }
};

}  // namespace netd::tap
