// Neighbor Discovery for the guest's IPv6 link: netd is the router.
//
// Theory of operation (RFC 4861, RFC 4862, RFC 8106):
//  * Neighbor solicitations for an address netd owns (gateway N+2, DNS N+3,
//    the router's link-local fe80::2) get a neighbor advertisement with
//    netd's MAC: solicited and unicast to the asker, or, when the asker is
//    doing duplicate address detection (source ::), unsolicited to all
//    nodes, which tells the guest the address is taken. Solicitations for
//    any other address get no answer, so the guest's own DAD always
//    succeeds: netd never claims an address the guest could pick by SLAAC
//    (interface identifiers ::2 and ::3 are not what SLAAC forms). The
//    guest's own DAD for an address in the prefix is how netd learns the
//    guest's IPv6 address (EngineContext::guest6) before it sends from it.
//  * Router solicitations get a router advertisement from fe80::2: the /64
//    prefix with the on-link and autonomous flags (the guest forms its own
//    address), the link MTU, the DNS address as RDNSS, and the "other
//    configuration" flag (stateless DHCPv6 answers for the search list).
//    Unsolicited advertisements to all nodes follow every kRaInterval once
//    the guest has shown up on IPv6 (before that no one listens, and a
//    silent engine keeps IPv4-only tests and guests free of them).
//  * Copied layout (pasta): every neighbour but the guest is behind netd, so
//    solicitations for any address but the guest's own (and never DAD
//    probes) get netd's MAC; with router_advertisements off (netd set the
//    guest's routes itself) router solicitations get no answer.
//  * Every NDP message must arrive with hop limit 255 (it cannot have been
//    forwarded); anything else is dropped and counted.
// The responder does no I/O and reads no clock: RAs are due at
// next_deadline(), and the loop calls on_timer().
#pragma once

#include <optional>

#include "common/time.h"
#include "tap/actions.h"
#include "tap/engine_context.h"
#include "tap/wire/ip.h"
#include "tap/wire/ndp.h"

namespace netd::tap {

class NdpResponder {
 public:
  static constexpr Duration kRaInterval = seconds(120);
  static constexpr uint16_t kRouterLifetime = 1800;         // seconds (RFC 4861: 3 x interval or more)
  static constexpr uint32_t kPrefixValidLifetime = 86400;
  static constexpr uint32_t kPrefixPreferredLifetime = 14400;
  static constexpr uint32_t kRdnssLifetime = 3 * 120;       // RFC 8106 5.1: 3 x MaxRtrAdvInterval

  explicit NdpResponder(EngineContext& ctx) : ctx_(ctx) {}

  // An NDP message from the guest inside `ip`; `src_mac` is the frame's source.
  void on_ndp(Time now, const wire::IpView& ip, const wire::NdpView& ndp, const wire::MacAddr& src_mac,
              Actions& out);
  // Any IPv6 frame from the guest: starts the unsolicited RAs.
  void saw_guest(Time now);
  std::optional<Time> next_deadline() const { return next_ra_; }
  void on_timer(Time now, Actions& out);

 private:
  // Whether a solicitation from `src` for `target` gets netd's MAC.
  bool answers_for(const wire::Ipv6Addr& target, const wire::Ipv6Addr& src) const;
  void advertise_router(const wire::Ipv6Addr& dst, const wire::MacAddr& dst_mac, Actions& out);
  void advertise_neighbor(const wire::Ipv6Addr& target, const wire::Ipv6Addr& dst, const wire::MacAddr& dst_mac,
                          bool solicited, Actions& out);

  EngineContext& ctx_;
  std::optional<Time> next_ra_;
};

}  // namespace netd::tap
