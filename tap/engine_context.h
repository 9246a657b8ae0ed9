// State every protocol engine of one attached namespace shares: the
// configuration, the counters, and what netd has learned about the guest's
// link (its MAC). Owned by the Stack, lent to each engine by reference.
#pragma once

#include <optional>

#include "tap/counters.h"
#include "tap/stack_config.h"
#include "tap/wire/builder.h"
#include "tap/wire/types.h"

namespace netd::tap {

struct EngineContext {
  StackConfig cfg;
  Counters counters;
  // Broadcast until the guest has sent its first frame; the Stack updates it
  // from every frame whose source IP is the guest's (or 0.0.0.0 during DHCP).
  wire::MacAddr guest_mac = wire::MacAddr::broadcast();
  // The guest's global IPv6 address once it has used one (SLAAC picks it,
  // so netd learns it from traffic); published ports need it.
  std::optional<wire::Ipv6Addr> guest6;

  // Link-layer addresses of a frame from netd to the guest.
  wire::L2Addrs to_guest() const { return {cfg.gateway_mac, guest_mac}; }
};

}  // namespace netd::tap
