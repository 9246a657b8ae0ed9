#include "tap/queue_steering.h"

#include "tap/wire/ethernet.h"
#include "tap/wire/ip.h"
#include "tap/wire/ipv4.h"
#include "tap/wire/ipv6.h"
#include "tap/wire/tcp.h"
#include "tap/wire/udp.h"

namespace netd::tap {

namespace {

// The TCP/UDP part of the decision, for a parsed unicast IP packet.
QueueRoute route_ip(const wire::IpView& ip, const StackConfig& cfg, const PublishedGuestPorts& udp_ports,
                    const std::function<bool(wire::IpProto, const FlowKey&)>& knows) {
  const wire::IpProto proto = ip.protocol();
  if (proto != wire::IpProto::Tcp && proto != wire::IpProto::Udp) return QueueRoute::Handoff;
  if (ip.dst() == cfg.dns_for(ip.dst())) return QueueRoute::Handoff;
  FlowKey key{ip.src(), 0, ip.dst(), 0};
  if (proto == wire::IpProto::Tcp) {
    // Only the ports and flags are read; the Stack checks the checksum.
    auto tcp = wire::TcpView::parse_checksum_offloaded(ip.payload());
    if (!tcp) return QueueRoute::Local;  // malformed: dropped and counted here
    key.guest_port = tcp->src_port();
    key.dst_port = tcp->dst_port();
    if (knows(proto, key)) return QueueRoute::Local;
    const bool opens = tcp->syn() && !tcp->ack_flag();
    return opens ? QueueRoute::Local : QueueRoute::Handoff;
  }
  auto udp = wire::UdpView::parse_checksum_offloaded(ip.payload());
  if (!udp) return QueueRoute::Local;
  key.guest_port = udp->src_port();
  key.dst_port = udp->dst_port();
  if (knows(proto, key)) return QueueRoute::Local;
  return udp_ports.contains(key.guest_port) ? QueueRoute::Handoff : QueueRoute::Local;
}

}  // namespace

QueueRoute route_on_worker(std::span<const std::byte> frame, const StackConfig& cfg,
                           const PublishedGuestPorts& udp_ports,
                           const std::function<bool(wire::IpProto, const FlowKey&)>& knows) {
  auto eth = wire::EthernetView::parse(frame);
  if (!eth) return QueueRoute::Local;  // malformed: dropped and counted here
  if (eth->dst().is_multicast()) return QueueRoute::Handoff;  // broadcast too: DHCP, ARP, NDP
  if (eth->ethertype() == wire::EtherType::Ipv4) {
    auto ip = wire::Ipv4View::parse(eth->payload());
    if (!ip || ip->is_fragment()) return QueueRoute::Local;  // dropped and counted here
    return route_ip(wire::IpView(*ip), cfg, udp_ports, knows);
  }
  if (eth->ethertype() == wire::EtherType::Ipv6) {
    auto ip = wire::Ipv6View::parse(eth->payload());
    if (!ip || ip->is_fragment()) return QueueRoute::Local;
    return route_ip(wire::IpView(*ip), cfg, udp_ports, knows);
  }
  return QueueRoute::Handoff;  // ARP and anything else: queue 0 keeps the link state
}

}  // namespace netd::tap
