// Where a guest packet for a given destination goes on the host.
//
// Slirp layout: the guest sees one subnet per family: the gateway (and,
// unless host loopback is disabled, the host's 127.0.0.1 or ::1 behind it),
// the DNS address (netd's own forwarder) and the rest of the world. Unused
// addresses of its subnet lead nowhere.
//
// Copied layout (pasta): the guest wears the host's address, so every other
// address is reached as it is, its own subnet included (hosts on the host's
// LAN), except two aliases: map_host_loopback leads to the host's loopback,
// guest_alias to the host's own address (which the guest cannot reach under
// its own name: that address is local to it).
//
// Both layouts: guest_alias / guest_alias6 lead to the host's own address as
// it is now (StackConfig::host_address4/6: it follows a renumbered host).
// The engines keep, per flow, the host destination chosen here and the
// guest's own destination; frames to the guest carry the latter, so replies
// come from the alias the guest addressed.
//
// In both, what would reach something the guest was not granted (loopback,
// broadcast, multicast, link-local, unspecified) maps to nothing and is
// dropped by the caller, counted as a policy drop. TCP, UDP and ICMP of both
// families use this one function.
#pragma once

#include <optional>

#include "tap/stack_config.h"
#include "tap/wire/types.h"

namespace netd::tap {

// Returns the host-side destination for guest traffic to `dst`, or nullopt
// when such traffic must not leave netd.
inline std::optional<wire::IpAddr> host_destination(const StackConfig& c, const wire::IpAddr& dst) {
  if (dst.is_v4()) {
    const wire::Ipv4Addr d = dst.v4();
    if (d.is_loopback() || d.is_multicast() || d.is_broadcast() || d.is_unspecified()) return std::nullopt;
    const wire::Ipv4Addr lo = c.loopback_alias();
    if (!lo.is_unspecified() && d == lo) return wire::IpAddr(wire::Ipv4Addr::from_octets(127, 0, 0, 1));
    if (!c.guest_alias.is_unspecified() && d == c.guest_alias) {
      const wire::Ipv4Addr own = c.host_address4();
      if (own.is_unspecified() || own.is_loopback()) return std::nullopt;  // (never the loopback this way)
      return wire::IpAddr(own);
    }
    if (c.copied()) {
      if (d == c.guest || d == c.cidr.broadcast()) return std::nullopt;
      return dst;
    }
    if (d == c.gateway) return std::nullopt;      // host loopback disabled
    if (c.cidr.contains(d)) return std::nullopt;  // nothing else lives in the guest's subnet
    return dst;
  }
  const wire::Ipv6Addr d = dst.v6();
  if (!c.ipv6) return std::nullopt;
  if (d.is_loopback() || d.is_multicast() || d.is_unspecified() || d.is_v4_mapped()) return std::nullopt;
  const wire::Ipv6Addr lo = c.loopback_alias6();
  if (!lo.is_unspecified() && (d == lo || (!c.copied() && d == c.router_ll)))
    return wire::IpAddr(wire::Ipv6Addr::loopback());
  if (!c.guest_alias6.is_unspecified() && d == c.guest_alias6) {
    const wire::Ipv6Addr own = c.host_address6();
    if (own.is_unspecified() || own.is_loopback()) return std::nullopt;
    return wire::IpAddr(own);
  }
  if (c.copied()) {
    if (d.is_link_local() || c.is_guest(dst)) return std::nullopt;
    return dst;
  }
  if (d.is_link_local() || d == c.gateway6) return std::nullopt;
  if (c.cidr6.contains(d)) return std::nullopt;
  return dst;
}

}  // namespace netd::tap
