// The addresses and policies of one attached namespace, in one of two layouts.
//
// Slirp (netd attach, netd slirp4netns): a private subnet netd owns, derived
// from a CIDR the way slirp4netns does it: gateway N+2, DNS N+3, guest N+100;
// for IPv6 from a /64 (default fd00::/64): gateway N+2, DNS N+3, and the
// guest picks its own address in the prefix by SLAAC. Nothing else lives in
// the subnet; the gateway stands for the host's loopback unless
// host_loopback is off.
//
// Copied (netd pasta): the guest wears the host's own address, prefix and
// gateway (copied from the host's default-route interface, or given on the
// command line). Every other address, inside the guest's subnet or not, is
// somewhere on the host's side: netd answers ARP and neighbour solicitations
// for all of them and carries traffic to them as it is. The gateway is a real
// host on the host's network unless it is also the loopback alias (pasta's
// --map-gw), and the guest reaches the host's own address through
// guest_alias (pasta's --map-guest-addr), since its own copy of that address
// is local to it.
//
// Both layouts: guest_alias / guest_alias6 (--map-guest-addr) lead to the
// host's own address of that family (host_own). That address is not fixed:
// a host gets renumbered while its containers run, and the runner follows
// its outbound interface (netd/outbound_monitor.h). So host_own is one cell
// shared by every copy of a configuration: written by the thread that
// follows the host, read by the engines of every queue (netd attach
// --queues) when a flow to the alias starts, under a mutex of its own.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.h"
#include "tap/wire/types.h"

namespace netd::tap {

// The host's own addresses, where the guest aliases lead (unspecified: not
// known; the copied layout then uses the guest's copy of it). Both paths
// through the lock are rare: a flow to the alias starting, the host being
// renumbered.
class HostOwnAddress {
 public:
  wire::Ipv4Addr v4() const {
    std::lock_guard lock(mutex_);
    return v4_;
  }
  wire::Ipv6Addr v6() const {
    std::lock_guard lock(mutex_);
    return v6_;
  }
  void set(const wire::Ipv4Addr& a) {
    std::lock_guard lock(mutex_);
    v4_ = a;
  }
  void set(const wire::Ipv6Addr& a) {
    std::lock_guard lock(mutex_);
    v6_ = a;
  }

 private:
  mutable std::mutex mutex_;
  wire::Ipv4Addr v4_{};
  wire::Ipv6Addr v6_{};
};

struct StackConfig {
  enum class Layout : uint8_t { Slirp, Copied };
  Layout layout = Layout::Slirp;

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
  // retry truncated answers over TCP. Like UDP DNS, this may be the host's
  // loopback (a resolver on 127.0.0.53) whatever host_loopback says: the
  // DNS address is the one way there, and it carries only standard queries
  // (TcpConn::dns_stream). Unset (no upstream, or an upstream with a zone):
  // refused with RST like any closed port.
  std::optional<wire::IpAddr> dns_tcp_upstream;
  uint16_t dns_tcp_upstream_port = 53;
  size_t tcp_buffer_budget = size_t{256} << 20;

  // ---- Both layouts: the host's own address (--map-guest-addr) ----
  // Each unspecified (0.0.0.0 / ::) when unused: guest traffic to it goes to
  // the host's own address of its family (host_address4/6() below). Set
  // through set_guest_alias(), which refuses what cannot be an alias.
  wire::Ipv4Addr guest_alias{};
  wire::Ipv6Addr guest_alias6{};
  // Shared by every copy (see the top of this file); never null.
  std::shared_ptr<HostOwnAddress> host_own = std::make_shared<HostOwnAddress>();

  // ---- Copied layout (pasta) ----
  // Each unspecified (0.0.0.0 / ::) when unused.
  wire::Ipv4Addr map_host_loopback{};   // guest traffic to it goes to the host's 127.0.0.1
  wire::Ipv6Addr map_host_loopback6{};  // ... to the host's ::1
  // The guest's IPv6 address when it is known up front (set by netd with
  // --config-net) rather than learned from the guest's SLAAC.
  std::optional<wire::Ipv6Addr> guest6;
  // Router advertisements answer router solicitations (off when netd
  // configures the guest's addresses and routes itself, as pasta does).
  bool router_advertisements = true;
  // Built-in services and protocol handlers (pasta's --no-dhcp & co.): a
  // switched-off one drops what it would have handled, counted as unsupported.
  bool dhcp = true, dhcpv6 = true, ndp = true;
  bool tcp = true, udp = true, icmp = true;
  // Name servers the guest is told about (DHCP option 6, RDNSS, DHCPv6);
  // empty: the DNS address of that family in the slirp layout, none in the
  // copied one (pasta announces only what it is asked to).
  std::vector<wire::Ipv4Addr> announce_dns;
  std::vector<wire::Ipv6Addr> announce_dns6;

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

  bool ipv4 = true;  // false (pasta -6): IPv4 frames and ARP are dropped
  bool copied() const { return layout == Layout::Copied; }
  // True for an address netd itself answers as on the guest's link: in the
  // slirp layout the gateway and DNS addresses of either family and the
  // router's link-local; in the copied layout only the DNS addresses (the
  // gateway is a real host there, reached through the host).
  bool is_own(const wire::IpAddr& a) const {
    if (a.is_v4()) {
      if (a.v4().is_unspecified()) return false;
      return a.v4() == dns || (!copied() && a.v4() == gateway);
    }
    if (!ipv6 || a.v6().is_unspecified()) return false;
    return a.v6() == dns6 || (!copied() && (a.v6() == gateway6 || a.v6() == router_ll));
  }
  // The guest address netd answers neighbour queries for (copied layout:
  // every address but the guest's own).
  bool is_guest(const wire::IpAddr& a) const {
    if (a.is_v4()) return a.v4() == guest;
    return guest6 && a.v6() == *guest6;
  }
  // The name servers to tell the guest about, in its family's options.
  std::vector<wire::Ipv4Addr> guest_dns4() const {
    if (!announce_dns.empty() || copied()) return announce_dns;
    if (dns.is_unspecified()) return {};
    return {dns};
  }
  std::vector<wire::Ipv6Addr> guest_dns6() const {
    if (!announce_dns6.empty() || copied()) return announce_dns6;
    if (dns6.is_unspecified()) return {};
    return {dns6};
  }
  // The addresses that stand for the host's loopback (unspecified: none).
  wire::Ipv4Addr loopback_alias() const {
    if (copied()) return map_host_loopback;
    return host_loopback ? gateway : wire::Ipv4Addr{};
  }
  wire::Ipv6Addr loopback_alias6() const {
    if (copied()) return map_host_loopback6;
    return host_loopback ? gateway6 : wire::Ipv6Addr{};
  }
  // Where guest_alias / guest_alias6 lead now: host_own, else (copied
  // layout) the guest's copy of the host's address; unspecified: nowhere.
  wire::Ipv4Addr host_address4() const {
    if (const wire::Ipv4Addr a = host_own->v4(); !a.is_unspecified()) return a;
    return copied() ? guest : wire::Ipv4Addr{};
  }
  wire::Ipv6Addr host_address6() const {
    if (const wire::Ipv6Addr a = host_own->v6(); !a.is_unspecified()) return a;
    return copied() && guest6 ? *guest6 : wire::Ipv6Addr{};
  }
  // Sets guest_alias (an IPv4 `alias`) or guest_alias6. Refused: what is not
  // a unicast address (unspecified, loopback, multicast, broadcast, IPv6
  // link-local or IPv4-mapped), and an address the guest already uses for
  // something else: its own, the gateway, the DNS address, the router's
  // link-local, the host-loopback alias; in the slirp layout also any
  // address of the guest's subnet (nothing answers for it on the link).
  // Call after the layout's addresses are set.
  Expected<void, std::string> set_guest_alias(const wire::IpAddr& alias);

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

  // The copied layout for a guest at `guest` (address/prefix) behind
  // `gateway`; IPv6 off until set_copied6(). DNS, aliases and the rest are
  // left unset for the caller. The gateway must not be the guest's address.
  static Expected<StackConfig, std::string> copied_from(wire::Ipv4Cidr guest, wire::Ipv4Addr gateway);
  // IPv6 for the copied layout: the guest's address/prefix, the gateway, and
  // the link-local address netd answers as router (the gateway's when it is
  // link-local).
  Expected<void, std::string> set_copied6(wire::Ipv6Cidr guest, wire::Ipv6Addr gateway, wire::Ipv6Addr router_ll);
};

}  // namespace netd::tap
