// What the protocol engines ask of the event loop.
//
// Engines never touch fds: they append frames for the guest and requests for
// host sockets to an Actions, and the loop (tap/dataplane) carries them out in
// one batch. Host sockets are named by a FlowId the engine picked; the loop
// keeps the FlowId -> socket map and reports results back by FlowId.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <variant>
#include <vector>

#include "common/net/endpoint.h"
#include "tap/wire/types.h"

namespace netd::tap {

// How the tap should present a frame to the guest kernel (the virtio-net
// header netd writes in front of it when the tap has offloads enabled).
struct TapOffload {
  bool csum_partial = false;  // the L4 checksum field holds only the pseudo-header sum
  uint8_t csum_start = 0;     // where the checksummed L4 segment starts in the frame
  uint8_t csum_offset = 0;    // where its checksum field is, from csum_start
  uint16_t gso_size = 0;      // > 0: a TCP super-segment of segments this large
  bool gso_v6 = false;        // ... over IPv6 (VIRTIO_NET_HDR_GSO_TCPV6)
  uint16_t hdr_len = 0;       // Ethernet + IP + TCP header bytes (with gso_size)
};

// A frame for the guest: its bytes plus offload metadata for the tap.
//
// A TCP data segment is the vector (Ethernet, IP and TCP headers) followed
// on the wire by `tail`, its payload, which stays where the host socket's
// bytes already are (the connection's ring): the loop writes both with one
// writev, and 64 KiB super-segments are never copied or allocated per frame.
// `tail_owner` keeps that memory alive until the frame is gone (ByteRing).
// Code that needs the whole frame in one buffer (pcap, tests) uses flat().
struct Frame : std::vector<std::byte> {
  Frame() = default;
  Frame(std::vector<std::byte>&& bytes) : std::vector<std::byte>(std::move(bytes)) {}  // NOLINT: implicit by design
  TapOffload offload;
  std::span<const std::byte> tail;
  std::shared_ptr<const void> tail_owner;

  size_t wire_size() const { return size() + tail.size(); }
  std::vector<std::byte> flat() const {
    std::vector<std::byte> all(begin(), end());
    all.insert(all.end(), tail.begin(), tail.end());
    return all;
  }
};
// Never reused within one netd process (64 bits do not wrap in practice).
using FlowId = uint64_t;

enum class SocketKind : uint8_t {
  Udp,   // SOCK_DGRAM UDP, connected to dst:port
  Ping,  // SOCK_DGRAM IPPROTO_ICMP / IPPROTO_ICMPV6 ("ping socket"), connected to dst
  Tcp,   // SOCK_STREAM, connected by TcpConnect
};

// Create a socket of `kind` in dst's family, connect it to dst:port, and start receiving.
struct OpenSocket {
  FlowId flow;
  SocketKind kind;
  wire::IpAddr dst;
  uint16_t port = 0;
};
// Send one datagram on the flow's socket (for Ping: an ICMP echo message).
struct SendOnSocket {
  FlowId flow;
  std::vector<std::byte> data;
};
// Close the flow's socket. For TCP, abort=true resets the connection (RST to
// the peer, SO_LINGER 0). Every operation still in flight on a TCP socket
// completes (possibly with ECANCELED) and is reported before the loop forgets
// the flow, because those operations point into engine-owned buffers.
struct CloseSocket {
  FlowId flow;
  bool abort = false;
};

// ---- TCP: each reported back through Stack::on_tcp_* with the same flow ----
// Create a stream socket in dst's family and connect it to dst:port (non-blocking, via the ring).
struct TcpConnect {
  FlowId flow;
  wire::IpAddr dst;
  uint16_t port = 0;
};
// Wait until the socket is readable (or has an error / EOF), holding no buffer.
struct TcpPoll {
  FlowId flow;
};
// Receive into engine-owned memory that stays valid until on_tcp_received.
// -EAGAIN ("nothing to read now") is a valid answer: the engine then polls.
struct TcpRecv {
  FlowId flow;
  std::span<std::byte> into;
};
// Send engine-owned bytes that stay valid until on_tcp_sent.
struct TcpSend {
  FlowId flow;
  std::span<const std::byte> data;
};
// shutdown(SHUT_WR): the guest sent FIN and all its data reached the socket.
struct TcpShutdown {
  FlowId flow;
};
// A host client of a published UDP port, as the loop received it: IPv4 or
// IPv6, kept whole so replies reach exactly that client.
using HostPeer = net::Endpoint;
// Send one datagram out of published UDP socket `listener` to `peer` (a
// reply of the guest to a host client of a published port).
struct SendToPeer {
  uint32_t listener = 0;
  HostPeer peer;
  std::vector<std::byte> data;
};
// Hand a DNS query to the upstream forwarder; the answer (or failure) comes
// back through Stack::on_dns_reply with the same token.
struct ForwardDns {
  uint64_t token;
  std::vector<std::byte> query;
};

using HostOp = std::variant<OpenSocket, SendOnSocket, CloseSocket, ForwardDns, TcpConnect, TcpPoll,
                            TcpRecv, TcpSend, TcpShutdown, SendToPeer>;

struct Actions {
  std::vector<Frame> to_tap;
  std::vector<HostOp> to_host;
  void clear() {
    to_tap.clear();
    to_host.clear();
  }
};

}  // namespace netd::tap
