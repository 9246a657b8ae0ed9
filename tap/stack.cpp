#include "tap/stack.h"

#include <type_traits>

#include "tap/wire/arp.h"
#include "tap/wire/checksum.h"
#include "tap/wire/dhcp.h"
#include "tap/wire/dhcpv6.h"
#include "tap/wire/ipv6.h"
#include "tap/wire/ndp.h"
#include "tap/wire/ethernet.h"

namespace netd::tap {

Stack::Stack(const StackConfig& cfg)
    : ctx_{cfg},
      arp_(ctx_),
      dhcp_(ctx_),
      ndp_(ctx_),
      dhcp6_(ctx_),
      icmp_(ctx_, next_flow_),
      udp_(ctx_, next_flow_),
      dns_(ctx_),
      tcp_(ctx_, next_flow_) {
  ctx_.guest6 = cfg.guest6;  // known up front when netd configured it (copied layout)
}

void Stack::on_frame(Time now, std::span<const std::byte> frame, Actions& out, bool l4_csum_offloaded) {
  ++ctx_.counters.frames_in;
  ctx_.counters.bytes_in += frame.size();
  auto eth = wire::EthernetView::parse(frame);
  if (!eth) {
    ctx_.counters.count_wire_error(eth.error());
    return;
  }
  const wire::MacAddr dst = eth->dst();
  // IPv6 multicast (33:33:...) carries NDP and DHCPv6; other multicast
  // (mDNS, ...) and frames for other stations: nobody here.
  const bool v6_multicast = dst.b[0] == 0x33 && dst.b[1] == 0x33 && eth->ethertype() == wire::EtherType::Ipv6;
  if (dst != ctx_.cfg.gateway_mac && !dst.is_broadcast() && !v6_multicast) {
    ++ctx_.counters.drop_not_for_us;
    return;
  }
  switch (eth->ethertype()) {
    case static_cast<uint16_t>(wire::EtherType::Arp): {
      if (!ctx_.cfg.ipv4) break;
      auto arp = wire::ArpView::parse(eth->payload());
      if (!arp) {
        ctx_.counters.count_wire_error(arp.error());
        return;
      }
      if (arp->sender_ip() == ctx_.cfg.guest) ctx_.guest_mac = arp->sender_mac();
      arp_.on_arp(*arp, out);
      return;
    }
    case static_cast<uint16_t>(wire::EtherType::Ipv4):
      if (!ctx_.cfg.ipv4) break;
      on_ipv4(now, *eth, eth->payload(), l4_csum_offloaded, out);
      return;
    case static_cast<uint16_t>(wire::EtherType::Ipv6):
      if (!ctx_.cfg.ipv6) break;
      on_ipv6(now, *eth, l4_csum_offloaded, out);
      return;
    default:
      break;
  }
  ++ctx_.counters.drop_unsupported;
}

void Stack::on_ipv6(Time now, const wire::EthernetView& eth, bool offloaded, Actions& out) {
  auto ip6 = wire::Ipv6View::parse(eth.payload());
  if (!ip6) {
    ctx_.counters.count_wire_error(ip6.error());
    return;
  }
  if (ip6->is_fragment()) {
    ++ctx_.counters.drop_fragment;  // no reassembly, as for IPv4
    return;
  }
  const StackConfig& c = ctx_.cfg;
  const wire::Ipv6Addr src = ip6->src();
  const wire::Ipv6Addr dst = ip6->dst();
  if (src.is_multicast()) {
    ++ctx_.counters.drop_malformed;  // never a valid source (RFC 4291 2.7)
    return;
  }
  if (c.cidr6.contains(src)) {
    ctx_.guest_mac = eth.src();
    ctx_.guest6 = src;
  } else if (src.is_link_local()) {
    ctx_.guest_mac = eth.src();
  }
  ndp_.saw_guest(now);
  const wire::IpView ip(*ip6);

  if (ip.protocol() == wire::IpProto::Icmpv6) {
    auto icmp = wire::IcmpView::parse(ip.payload(), ip.pseudo_header(wire::IpProto::Icmpv6));
    if (!icmp) {
      ctx_.counters.count_wire_error(icmp.error());
      return;
    }
    // NDP (types 133..137), to multicast or unicast destinations.
    if (icmp->type() >= wire::kNdpRouterSolicitation && icmp->type() <= wire::kNdpRedirect) {
      if (!c.ndp) {
        ++ctx_.counters.drop_unsupported;
        return;
      }
      auto ndp = wire::NdpView::parse(*icmp);
      if (!ndp) {
        ctx_.counters.count_wire_error(ndp.error());
        return;
      }
      ndp_.on_ndp(now, ip, *ndp, eth.src(), out);
      return;
    }
    if (dst.is_multicast()) {
      ++ctx_.counters.drop_not_for_us;  // MLD reports and the like: no other listener here
      return;
    }
    icmp_.on_guest_icmp(now, ip, *icmp, out);
    return;
  }
  // Stateless DHCPv6: to All_DHCP_Relay_Agents_and_Servers or to us.
  static const wire::Ipv6Addr kAllDhcp{{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2}};
  if (ip.protocol() == wire::IpProto::Udp && (dst == kAllDhcp || c.is_own(ip.dst()))) {
    auto udp = parse_l4<wire::UdpView>(ip, offloaded);
    if (!udp) return;
    if (udp->dst_port() == wire::kDhcpv6ServerPort) {
      if (!c.dhcpv6) {
        ++ctx_.counters.drop_unsupported;
        return;
      }
      auto msg = wire::Dhcpv6View::parse(udp->payload());
      if (!msg) {
        ctx_.counters.count_wire_error(msg.error());
        return;
      }
      dhcp6_.on_message(ip, udp->src_port(), *msg, out);
      return;
    }
    if (dst == kAllDhcp) {
      ++ctx_.counters.drop_not_for_us;
      return;
    }
    on_udp(now, ip, *udp, out);
    return;
  }
  if (dst.is_multicast()) {
    ++ctx_.counters.drop_not_for_us;  // MLD reports, mDNS, ...: no other listener on this link
    return;
  }
  on_ip(now, ip, offloaded, out);
}

void Stack::on_ipv4(Time now, const wire::EthernetView& eth, std::span<const std::byte> packet,
                    bool offloaded, Actions& out) {
  auto ip = wire::Ipv4View::parse(packet);
  if (!ip) {
    ctx_.counters.count_wire_error(ip.error());
    return;
  }
  if (ip->is_fragment()) {
    // No reassembly: with DF set by every modern stack and an MTU of 65520
    // on the tap, guests do not fragment. Counted so it is visible if one does.
    ++ctx_.counters.drop_fragment;
    return;
  }
  if (ip->src() == ctx_.cfg.guest) ctx_.guest_mac = eth.src();
  if (ip->protocol() == wire::IpProto::Udp && ip->dst().is_broadcast()) {
    on_udp_v4_broadcast(*ip, offloaded, out);
    return;
  }
  on_ip(now, *ip, offloaded, out);
}

void Stack::on_ip(Time now, const wire::IpView& ip, bool offloaded, Actions& out) {
  const StackConfig& c = ctx_.cfg;
  if ((ip.protocol() == wire::IpProto::Tcp && !c.tcp) || (ip.protocol() == wire::IpProto::Udp && !c.udp) ||
      ((ip.protocol() == wire::IpProto::Icmp || ip.protocol() == wire::IpProto::Icmpv6) && !c.icmp)) {
    ++ctx_.counters.drop_unsupported;
    return;
  }
  switch (ip.protocol()) {
    case wire::IpProto::Icmp:
    case wire::IpProto::Icmpv6: {
      if ((ip.protocol() == wire::IpProto::Icmp) != !ip.is_v6()) break;  // ICMPv4 over IPv6 or vice versa
      auto icmp = ip.is_v6() ? wire::IcmpView::parse(ip.payload(), ip.pseudo_header(wire::IpProto::Icmpv6))
                             : wire::IcmpView::parse(ip.payload());
      if (!icmp) {
        ctx_.counters.count_wire_error(icmp.error());
        return;
      }
      icmp_.on_guest_icmp(now, ip, *icmp, out);
      return;
    }
    case wire::IpProto::Udp: {
      auto udp = parse_l4<wire::UdpView>(ip, offloaded);
      if (!udp) return;
      on_udp(now, ip, *udp, out);
      return;
    }
    case wire::IpProto::Tcp: {
      auto tcp = parse_l4<wire::TcpView>(ip, offloaded);
      if (!tcp) return;
      tcp_.on_guest_segment(now, ip, *tcp, out);
      tcp_.feed_starved(out);
      return;
    }
    default:
      break;
  }
  ++ctx_.counters.drop_unsupported;
}

template <class View>
std::optional<View> Stack::parse_l4(const wire::IpView& ip, bool offloaded) {
  constexpr wire::IpProto proto = std::is_same_v<View, wire::UdpView> ? wire::IpProto::Udp : wire::IpProto::Tcp;
  auto v = [&]() -> Expected<View, wire::WireError> {
    if (offloaded) return View::parse_checksum_offloaded(ip.payload());
    if constexpr (proto == wire::IpProto::Udp) {
      // A zero UDP checksum means "none" over IPv4 only (RFC 8200 8.1).
      return View::parse(ip.payload(), ip.pseudo_header(proto), !ip.is_v6());
    } else {
      return View::parse(ip.payload(), ip.pseudo_header(proto));
    }
  }();
  if (!v) {
    ctx_.counters.count_wire_error(v.error());
    return std::nullopt;
  }
  return *v;
}

void Stack::on_udp_v4_broadcast(const wire::Ipv4View& ip, bool offloaded, Actions& out) {
  // Only DHCP listens on 255.255.255.255.
  auto udp = parse_l4<wire::UdpView>(ip, offloaded);
  if (!udp) return;
  if (udp->dst_port() == 67) return on_dhcp(ip.src(), *udp, out);
  ++ctx_.counters.drop_not_for_us;  // nobody else on this segment listens
}

void Stack::on_dhcp(const wire::IpAddr& src, const wire::UdpView& udp, Actions& out) {
  if (!ctx_.cfg.dhcp) {
    ++ctx_.counters.drop_unsupported;
    return;
  }
  auto dhcp = wire::DhcpView::parse(udp.payload());
  if (!dhcp) {
    ctx_.counters.count_wire_error(dhcp.error());
    return;
  }
  if (src.is_unspecified() || src == wire::IpAddr(ctx_.cfg.guest)) ctx_.guest_mac = dhcp->client_mac();
  dhcp_.on_message(*dhcp, out);
}

void Stack::on_udp(Time now, const wire::IpView& ip, const wire::UdpView& udp, Actions& out) {
  const StackConfig& c = ctx_.cfg;
  if (udp.dst_port() == 67 && ip.dst() == wire::IpAddr(c.gateway)) return on_dhcp(ip.src(), udp, out);
  if (udp.dst_port() == 53 && ip.dst() == c.dns_for(ip.dst())) {
    dns_.on_guest_query(now, ip, udp, out);
    return;
  }
  if (!ip.is_v6() && ip.dst().v4() == c.cidr.broadcast()) {
    ++ctx_.counters.drop_not_for_us;  // nobody else on this segment listens
    return;
  }
  udp_.on_guest_datagram(now, ip, udp, out);
}

void Stack::on_socket_data(Time now, SocketKind kind, FlowId flow, std::span<const std::byte> data,
                           Actions& out) {
  if (kind == SocketKind::Udp) udp_.on_host_datagram(now, flow, data, out);
  else icmp_.on_host_reply(now, flow, data, out);
}

void Stack::on_socket_error(Time now, SocketKind kind, FlowId flow, int err, Actions& out) {
  if (kind == SocketKind::Udp) udp_.on_host_error(now, flow, err, out);
  else icmp_.on_host_error(now, flow, err, out);
}

void Stack::on_dns_reply(Time now, uint64_t token, const Expected<std::vector<std::byte>, int>& reply,
                         Actions& out) {
  dns_.on_reply(now, token, reply, out);
}

Stack::InboundPath Stack::inbound_path(const wire::IpAddr& client, std::optional<wire::Ipv4Addr> guest) const {
  const StackConfig& c = ctx_.cfg;
  if (!guest && client.is_v6() && c.ipv6 && ctx_.guest6) {
    const wire::Ipv6Addr v6 = client.v6();
    return {wire::IpAddr(seen_source6(v6)), *ctx_.guest6};
  }
  // IPv4 clients, and IPv6 clients of a guest without (known) IPv6.
  if (!client.is_v4()) return {wire::IpAddr(c.gateway), guest.value_or(c.guest)};
  return {wire::IpAddr(seen_source4(client.v4())), guest.value_or(c.guest)};
}

wire::Ipv4Addr Stack::seen_source4(wire::Ipv4Addr client) const {
  const StackConfig& c = ctx_.cfg;
  const wire::Ipv4Addr lo_alias = c.loopback_alias();
  if (client == wire::Ipv4Addr::from_octets(127, 0, 0, 1) && !lo_alias.is_unspecified()) return lo_alias;
  if (c.copied()) {
    // The host itself (its loopback without a loopback alias, or its own
    // address, which the guest wears too) appears as the alias the guest
    // reaches the host's address through: under Podman's --no-map-gw the
    // gateway is a real, different host and must not be blamed. Without
    // any alias: the gateway, as pasta does.
    const bool host_itself = client == c.guest || client.is_loopback() || client.is_unspecified();
    if (host_itself) return c.guest_alias.is_unspecified() ? c.gateway : c.guest_alias;
    return client;
  }
  if (client.is_loopback() || client.is_unspecified() || c.cidr.contains(client)) return c.gateway;
  return client;
}

wire::Ipv6Addr Stack::seen_source6(const wire::Ipv6Addr& client) const {
  const StackConfig& c = ctx_.cfg;
  const wire::Ipv6Addr lo_alias = c.loopback_alias6();
  if (c.copied()) {
    if (client.is_loopback() && !lo_alias.is_unspecified()) return lo_alias;
    const bool host_itself = client.is_loopback() || c.is_guest(wire::IpAddr(client)) || client.is_unspecified();
    if (host_itself) return c.guest_alias6.is_unspecified() ? c.router_ll : c.guest_alias6;
    if (client.is_link_local()) return c.router_ll;
    return client;
  }
  if (client.is_loopback() || client.is_unspecified() || client.is_link_local() || c.cidr6.contains(client))
    return c.gateway6;
  return client;
}

std::optional<FlowId> Stack::on_tcp_inbound(Time now, const wire::IpAddr& client, uint16_t client_port,
                                            uint16_t guest_port, Actions& out,
                                            std::optional<wire::Ipv4Addr> guest) {
  InboundPath p = inbound_path(client, guest);
  return tcp_.on_inbound(now, p.seen, client_port, p.guest, guest_port, out);
}

std::optional<FlowId> Stack::on_udp_inbound(Time now, uint32_t listener, const HostPeer& peer, uint16_t guest_port,
                                            std::span<const std::byte> data, Actions& out,
                                            std::optional<wire::Ipv4Addr> guest) {
  InboundPath p = inbound_path(peer.addr, guest);
  return udp_.on_published_datagram(now, listener, peer, p.seen, p.guest, guest_port, data, out);
}

std::optional<Time> Stack::next_deadline() const {
  std::optional<Time> best;
  for (auto t : {icmp_.next_deadline(), udp_.next_deadline(), dns_.next_deadline(), tcp_.next_deadline(),
                 ndp_.next_deadline()}) {
    if (t && (!best || *t < *best)) best = t;
  }
  return best;
}

void Stack::on_timer(Time now, Actions& out) {
  icmp_.on_timer(now, out);
  udp_.on_timer(now, out);
  dns_.on_timer(now, out);
  tcp_.on_timer(now, out);
  tcp_.feed_starved(out);
  ndp_.on_timer(now, out);
}

}  // namespace netd::tap
