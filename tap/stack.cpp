#include "tap/stack.h"

#include "tap/wire/arp.h"
#include "tap/wire/checksum.h"
#include "tap/wire/dhcp.h"
#include "tap/wire/ethernet.h"

namespace netd::tap {

Stack::Stack(const StackConfig& cfg)
    : ctx_{cfg},
      arp_(ctx_),
      dhcp_(ctx_),
      icmp_(ctx_, next_flow_),
      udp_(ctx_, next_flow_),
      dns_(ctx_),
      tcp_(ctx_, next_flow_) {}

void Stack::on_frame(Time now, std::span<const std::byte> frame, Actions& out, bool l4_csum_offloaded) {
  ++ctx_.counters.frames_in;
  ctx_.counters.bytes_in += frame.size();
  auto eth = wire::EthernetView::parse(frame);
  if (!eth) {
    ctx_.counters.count_wire_error(eth.error());
    return;
  }
  const wire::MacAddr dst = eth->dst();
  if (dst != ctx_.cfg.gateway_mac && !dst.is_broadcast()) {
    // Multicast (IPv6 ND, mDNS...) and frames for other stations: nobody here.
    ++ctx_.counters.drop_not_for_us;
    return;
  }
  switch (eth->ethertype()) {
    case static_cast<uint16_t>(wire::EtherType::Arp): {
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
      on_ipv4(now, *eth, eth->payload(), l4_csum_offloaded, out);
      return;
    default:
      ++ctx_.counters.drop_unsupported;  // IPv6 arrives with issue 4
      return;
  }
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
  const wire::Ipv4Addr src = ip->src();
  if (src == ctx_.cfg.guest) ctx_.guest_mac = eth.src();

  switch (ip->protocol()) {
    case wire::IpProto::Icmp: {
      auto icmp = wire::IcmpView::parse(ip->payload());
      if (!icmp) {
        ctx_.counters.count_wire_error(icmp.error());
        return;
      }
      icmp_.on_guest_icmp(now, *ip, *icmp, out);
      return;
    }
    case wire::IpProto::Udp:
      on_udp(now, *ip, offloaded, out);
      return;
    case wire::IpProto::Tcp: {
      auto tcp = offloaded ? wire::TcpView::parse_checksum_offloaded(ip->payload())
                           : wire::TcpView::parse(ip->payload(),
                                                  wire::ipv4_pseudo_header(src, ip->dst(), wire::IpProto::Tcp,
                                                                           static_cast<uint16_t>(ip->payload().size())));
      if (!tcp) {
        ctx_.counters.count_wire_error(tcp.error());
        return;
      }
      tcp_.on_guest_segment(now, *ip, *tcp, out);
      return;
    }
    default:
      ++ctx_.counters.drop_unsupported;
      return;
  }
}

void Stack::on_udp(Time now, const wire::Ipv4View& ip, bool offloaded, Actions& out) {
  auto udp = offloaded ? wire::UdpView::parse_checksum_offloaded(ip.payload())
                       : wire::UdpView::parse(ip.payload(),
                                              wire::ipv4_pseudo_header(ip.src(), ip.dst(), wire::IpProto::Udp,
                                                                       static_cast<uint16_t>(ip.payload().size())));
  if (!udp) {
    ctx_.counters.count_wire_error(udp.error());
    return;
  }
  if (udp->dst_port() == 67) {
    if (ip.dst().is_broadcast() || ip.dst() == ctx_.cfg.gateway) {
      auto dhcp = wire::DhcpView::parse(udp->payload());
      if (!dhcp) {
        ctx_.counters.count_wire_error(dhcp.error());
        return;
      }
      if (ip.src().is_unspecified() || ip.src() == ctx_.cfg.guest) ctx_.guest_mac = dhcp->client_mac();
      dhcp_.on_message(*dhcp, out);
      return;
    }
  }
  if (ip.dst() == ctx_.cfg.dns && udp->dst_port() == 53) {
    dns_.on_guest_query(now, ip, *udp, out);
    return;
  }
  if (ip.dst().is_broadcast() || ip.dst() == ctx_.cfg.cidr.broadcast()) {
    ++ctx_.counters.drop_not_for_us;  // nobody else on this segment listens
    return;
  }
  udp_.on_guest_datagram(now, ip, *udp, out);
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

wire::Ipv4Addr Stack::seen_from_guest(std::optional<wire::Ipv4Addr> client) const {
  const StackConfig& c = ctx_.cfg;
  if (!client || client->is_loopback() || client->is_unspecified() || c.cidr.contains(*client)) return c.gateway;
  return *client;
}

std::optional<FlowId> Stack::on_tcp_inbound(Time now, wire::Ipv4Addr client, uint16_t client_port,
                                            uint16_t guest_port, Actions& out,
                                            std::optional<wire::Ipv4Addr> guest) {
  return tcp_.on_inbound(now, seen_from_guest(client), client_port, guest.value_or(ctx_.cfg.guest), guest_port,
                         out);
}

std::optional<FlowId> Stack::on_udp_inbound(Time now, uint32_t listener, const HostPeer& peer, uint16_t guest_port,
                                            std::span<const std::byte> data, Actions& out,
                                            std::optional<wire::Ipv4Addr> guest) {
  return udp_.on_published_datagram(now, listener, peer, seen_from_guest(peer.ipv4()),
                                    guest.value_or(ctx_.cfg.guest), guest_port, data, out);
}

std::optional<Time> Stack::next_deadline() const {
  std::optional<Time> best;
  for (auto t : {icmp_.next_deadline(), udp_.next_deadline(), dns_.next_deadline(), tcp_.next_deadline()}) {
    if (t && (!best || *t < *best)) best = t;
  }
  return best;
}

void Stack::on_timer(Time now, Actions& out) {
  icmp_.on_timer(now, out);
  udp_.on_timer(now, out);
  dns_.on_timer(now, out);
  tcp_.on_timer(now, out);
}

}  // namespace netd::tap
