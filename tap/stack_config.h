// The addresses and policies of one attached namespace, derived from a CIDR
// the way slirp4netns does it: gateway N+2, DNS N+3, guest N+100; for IPv6
// from a /64 (default fd00::/64): gateway N+2, DNS N+3, and the guest picks
// its own address in the prefix by SLAAC.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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
  // Limits (docs/security.md): TCP connections still connecting on the host
  // (more are refused with RST), and the memory all TCP connections may hold
  // in their byte rings together (beyond it, rings stay empty: the guest sees
  // a zero window, host reads wait, nothing is refused).
  size_t tcp_max_connecting = 4096;
  // Where a TCP connection to port 53 of the DNS address (either family)
  // goes: the first upstream DNS server, as slirp4netns does, so clients can
  // retry truncated answers over TCP. Unset (no upstream, an upstream with a
  // zone, or a loopback upstream while host loopback is disabled): refused
  // with RST like any closed port.
  std::optional<wire::IpAddr> dns_tcp_upstream;
  uint16_t dns_tcp_upstream_port = 53;
  size_t tcp_buffer_budget = size_t{256} << 20;

  // ---- IPv6 ----
  bool ipv6 = true;                 // false: IPv6 frames are dropped as before
  wire::Ipv6Cidr cidr6{};           // a /64: the prefix announced for SLAAC
  wire::Ipv6Addr gateway6{};        // N+2; maps to host ::1 when host_loopback
  wire::Ipv6Addr dns6{};            // N+3; netd's DNS forwarder
  // The router's link-local address: RAs must come from a link-local source
  // (RFC 4861 6.1.2), so this is what the guest's default route points at.
  wire::Ipv6Addr router_ll = wire::Ipv6Addr{{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}};
  // The DNS search list handed out by DHCPv6 (option 24), already in DNS
  // wire form (set_dns_search); empty: none.
  std::vector<std::byte> dns_search_wire;

  // True for an address netd itself answers as on the guest's link (the
  // gateway and DNS addresses of either family, the router's link-local).
  bool is_own(const wire::IpAddr& a) const {
    if (a.is_v4()) return a.v4() == gateway || a.v4() == dns;
    return ipv6 && (a.v6() == gateway6 || a.v6() == dns6 || a.v6() == router_ll);
  }
  // The address the guest reaches netd's DNS forwarder at, in a's family.
  wire::IpAddr dns_for(const wire::IpAddr& a) const { return a.is_v4() ? wire::IpAddr(dns) : wire::IpAddr(dns6); }

  // Builds the default layout for `cidr` ("10.0.2.0/24"). The CIDR must be a
  // network address with a prefix of 1..25 (room for .100), as in slirp4netns.
  // IPv6 gets the default prefix fd00::/64 (set_cidr6 to change it).
  static Expected<StackConfig, std::string> from_cidr(std::string_view cidr);
  // Sets cidr6 and the addresses derived from it. The prefix must be a
  // network address of length 64 (SLAAC over Ethernet forms 64-bit interface
  // identifiers, RFC 4862 5.5.3) and not link-local, multicast or loopback.
  Expected<void, std::string> set_cidr6(std::string_view cidr6);
  // Sets the search list ("example.com", ...); an invalid name is an error.
  Expected<void, std::string> set_dns_search(const std::vector<std::string>& domains);
};

}  // namespace netd::tap
