// ICMP and ICMPv6 echo for the guest.
//
// Theory of operation: echo requests to the addresses netd owns (gateway, DNS,
// the router's link-local) are answered here. Echo requests to any other
// permitted destination go out through an unprivileged "ping socket"
// (SOCK_DGRAM/IPPROTO_ICMP or IPPROTO_ICMPV6, by the flow's family) per
// (guest identifier, destination) flow; the kernel picks the socket's own
// identifier, so replies get the guest's identifier written back before they
// are framed for the guest, from the address the guest pinged. As with UDP,
// a flow whose host destination moved (the guest alias of a renumbered
// host) gets a new socket with its next echo request. If the host forbids ping sockets
// (net.ipv4.ping_group_range), that is logged once and further echoes are
// dropped and counted: ping fails the way a filtered network does.
// A socket that cannot reach the destination at all (no route: e.g. a host
// without IPv6) makes the guest get a destination unreachable, as a router
// would send. The family's type numbers come from wire::IcmpDialect; NDP
// (also ICMPv6) never comes here, the Stack gives it to NdpResponder.
// Other ICMP messages from the guest are dropped (counted).
#pragma once

#include <optional>

#include "common/time.h"
#include "tap/actions.h"
#include "tap/engine_context.h"
#include "tap/flow_table.h"
#include "tap/icmp_errors.h"
#include "tap/wire/icmp.h"
#include "tap/wire/ip.h"

namespace netd::tap {

class IcmpEngine {
 public:
  static constexpr size_t kMaxFlows = 1024;
  static constexpr Duration kIdleTimeout = seconds(60);

  IcmpEngine(EngineContext& ctx, FlowId& next_flow) : ctx_(ctx), flows_(next_flow, kMaxFlows) {}

  // A parsed ICMP message from the guest inside `ip`.
  void on_guest_icmp(Time now, const wire::IpView& ip, const wire::IcmpView& icmp, Actions& out);
  // An ICMP message (header + payload, as a ping socket returns it) on `flow`.
  void on_host_reply(Time now, FlowId flow, std::span<const std::byte> message, Actions& out);
  // The flow's socket failed (open or receive): err is a positive errno.
  void on_host_error(Time now, FlowId flow, int err, Actions& out);
  std::optional<Time> next_deadline() const;
  void on_timer(Time now, Actions& out);
  size_t flow_count() const { return flows_.size(); }

 private:
  struct Flow {
    FlowKey key;
    Time last_used;
    ErrorQuote quote;  // the last echo request, for "unreachable"
    wire::IpAddr host{};  // where the socket sends (address_map.h)
  };
  void reply_locally(const wire::IpView& ip, const wire::IcmpView& icmp, Actions& out);

  EngineContext& ctx_;
  FlowTable<Flow> flows_;
  bool ping_denied_ = false;
};

}  // namespace netd::tap
