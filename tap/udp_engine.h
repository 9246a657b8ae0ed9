// UDP translation between the guest and connected host sockets.
//
// Theory of operation: each guest 4-tuple is a flow with one connected UDP
// socket on the host (the loop opens it on OpenSocket); guest datagrams are
// sent on it, datagrams the socket receives are framed back to the guest with
// the addresses the guest used (so a reply from 127.0.0.1 or ::1 appears to
// come from the gateway, one from the host's own address from the guest
// alias the guest wrote to). A flow remembers the host destination its socket is connected to;
// when the address map gives another one for a later datagram (the guest
// alias follows a renumbered host: tap/address_map.h), the socket is closed
// and the flow starts over. IPv4 and IPv6 flows are the same code: the flow's
// key carries the family, and the socket is opened in it. A flow expires like conntrack: 30 s if the host never
// answered, 120 s once it did. When the host reports ECONNREFUSED (an ICMP
// port unreachable arrived on the connected socket) the guest gets the same
// ICMP error, quoting its last datagram of that flow, so `nc -u`/DNS clients
// fail fast instead of timing out. DNS to the DNS address and DHCP do not come
// here (the Stack routes them to their own engines). Other socket errors
// that have an ICMP equivalent (no route, host unreachable; a host without
// IPv6) become that error, as from a real network.
//
// Published ports (inbound flows): a datagram a published host socket
// received from a host client becomes a flow keyed as if the guest had
// talked to the client first: (guest, guest port, the address the guest
// sees, client port). It has no socket of its own; the guest's replies go
// back out of the published socket to that client (SendToPeer), so the client
// hears from the port it wrote to. Inbound flows expire like the others
// (30 s until the guest replied, 120 s after) and end with their published
// socket (forget_listener).
#pragma once

#include <optional>

#include "common/time.h"
#include "tap/actions.h"
#include "tap/engine_context.h"
#include "tap/flow_table.h"
#include "tap/icmp_errors.h"
#include "tap/wire/ip.h"
#include "tap/wire/udp.h"

namespace netd::tap {

class UdpEngine {
 public:
  static constexpr size_t kMaxFlows = 4096;
  static constexpr Duration kUnrepliedTimeout = seconds(30);
  static constexpr Duration kRepliedTimeout = seconds(120);
  // Largest payload of one UDP datagram to the guest: IPv4's total length
  // counts the IPv4 and UDP headers, IPv6's payload length only the UDP header.
  static constexpr size_t kMaxPayload = 65535 - 20 - 8;
  static constexpr size_t kMaxPayload6 = 65535 - 8;

  UdpEngine(EngineContext& ctx, FlowId& next_flow) : ctx_(ctx), flows_(next_flow, kMaxFlows) {}

  // A parsed guest datagram (`udp` inside `ip`).
  void on_guest_datagram(Time now, const wire::IpView& ip, const wire::UdpView& udp, Actions& out);
  // A datagram the flow's host socket received.
  void on_host_datagram(Time now, FlowId flow, std::span<const std::byte> data, Actions& out);
  // A published UDP socket (`listener`) received `data` from host client
  // `peer`, for guest:guest_port; the guest sees it from seen:peer.port.
  // Returns the flow, or nullopt when the datagram was dropped (counted: the
  // table is full, or that 4-tuple belongs to another client).
  std::optional<FlowId> on_published_datagram(Time now, uint32_t listener, const HostPeer& peer,
                                              const wire::IpAddr& seen, const wire::IpAddr& guest,
                                              uint16_t guest_port,
                                              std::span<const std::byte> data, Actions& out);
  // The published socket `listener` was closed: its inbound flows end.
  void forget_listener(uint32_t listener, Actions& out);
  // The flow's socket reported an error (positive errno), e.g. ECONNREFUSED.
  void on_host_error(Time now, FlowId flow, int err, Actions& out);
  std::optional<Time> next_deadline() const { return flows_.next_deadline(); }
  void on_timer(Time now, Actions& out);
  size_t flow_count() const { return flows_.size(); }
  // A flow with this guest 4-tuple exists.
  bool has_flow(const FlowKey& k) const { return flows_.lookup(k).has_value(); }

 private:
  // Where an inbound flow's replies go: out of this published socket, to this client.
  struct Published {
    uint32_t listener = 0;
    HostPeer peer;
  };
  struct Flow {
    FlowKey key;
    Time last_used;
    bool replied = false;
    std::optional<Published> published;  // set: an inbound flow of a published port
    ErrorQuote quote;  // the guest's last datagram, for ICMP errors
    wire::IpAddr host{};  // outbound flows: where the socket is connected (address_map.h)
  };

  EngineContext& ctx_;
  FlowTable<Flow> flows_;
};

}  // namespace netd::tap
