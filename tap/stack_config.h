// The addresses and policies of one attached namespace, derived from a CIDR
// the way slirp4netns does it: gateway N+2, DNS N+3, guest N+100.
#pragma once

#include <string>
#include <string_view>

#include "common/expected.h"
#include "tap/wire/types.h"

namespace netd::tap {

struct StackConfig {
  wire::Ipv4Cidr cidr{};
  wire::Ipv4Addr gateway{};      // answers ARP/ping; maps to host 127.0.0.1 when host_loopback
  wire::Ipv4Addr dns{};          // netd's DNS forwarder
  wire::Ipv4Addr guest{};        // the one address handed out by DHCP
  wire::MacAddr gateway_mac{};   // the MAC netd answers with, for every address it owns
  uint32_t mtu = 65520;
  bool host_loopback = true;     // gateway -> 127.0.0.1 on the host
  uint32_t dhcp_lease_seconds = 3600;
  // The tap has virtio-net offloads (IFF_VNET_HDR + TUNSETOFFLOAD): TCP frames
  // to the guest may leave their checksum partial and be GSO super-segments.
  bool tap_offload = false;

  // Builds the default layout for `cidr` ("10.0.2.0/24"). The CIDR must be a
  // network address with a prefix of 1..25 (room for .100), as in slirp4netns.
  static Expected<StackConfig, std::string> from_cidr(std::string_view cidr);
};

}  // namespace netd::tap
