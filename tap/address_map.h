// Where a guest packet for a given destination goes on the host.
//
// The guest sees one subnet per family: the gateway (and, unless host
// loopback is disabled, the host's 127.0.0.1 or ::1 behind it), the DNS
// address (netd's own forwarder) and the rest of the world. Everything that
// would reach something the guest was not granted (loopback, broadcast,
// multicast, link-local, unused addresses of its subnet) maps to nothing and
// is dropped by the caller, counted as a policy drop. TCP, UDP and ICMP of
// both families use this one function.
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
    if (d == c.gateway) {
      if (!c.host_loopback) return std::nullopt;
      return wire::IpAddr(wire::Ipv4Addr::from_octets(127, 0, 0, 1));
    }
    if (d.is_loopback() || d.is_multicast() || d.is_broadcast() || d.is_unspecified()) return std::nullopt;
    if (c.cidr.contains(d)) return std::nullopt;  // nothing else lives in the guest's subnet
    return dst;
  }
  const wire::Ipv6Addr d = dst.v6();
  if (!c.ipv6) return std::nullopt;
  if (d == c.gateway6 || d == c.router_ll) {
    if (!c.host_loopback) return std::nullopt;
    return wire::IpAddr(wire::Ipv6Addr::loopback());
  }
  if (d.is_loopback() || d.is_multicast() || d.is_unspecified() || d.is_link_local() || d.is_v4_mapped())
    return std::nullopt;
  if (c.cidr6.contains(d)) return std::nullopt;
  return dst;
}

}  // namespace netd::tap
