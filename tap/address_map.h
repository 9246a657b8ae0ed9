// Where a guest packet for a given destination goes on the host.
//
// The guest sees one subnet: the gateway (and, unless host loopback is
// disabled, the host's 127.0.0.1 behind it), the DNS address (netd's own
// forwarder) and the rest of the world. Everything that would reach something
// the guest was not granted (loopback, broadcast, multicast, unused addresses
// of the subnet) maps to nothing and is dropped by the caller, counted as a
// policy drop. TCP, UDP and ICMP use this one function.
#pragma once

#include <optional>

#include "tap/stack_config.h"
#include "tap/wire/types.h"

namespace netd::tap {

// Returns the host-side destination for guest traffic to `dst`, or nullopt
// when such traffic must not leave netd.
inline std::optional<wire::Ipv4Addr> host_destination(const StackConfig& c, wire::Ipv4Addr dst) {
  if (dst == c.gateway) {
    if (!c.host_loopback) return std::nullopt;
    return wire::Ipv4Addr::from_octets(127, 0, 0, 1);
  }
  if (dst.is_loopback() || dst.is_multicast() || dst.is_broadcast() || dst.is_unspecified())
    return std::nullopt;
  if (c.cidr.contains(dst)) return std::nullopt;  // nothing else lives in the guest's subnet
  return dst;
}

}  // namespace netd::tap
