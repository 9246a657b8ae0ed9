#include "tap/dhcpv6_server.h"

#include <array>

#include "tap/wire/builder.h"

namespace netd::tap {

void Dhcpv6Server::on_message(const wire::IpView& ip, uint16_t src_port, const wire::Dhcpv6View& msg,
                              Actions& out) {
  if (msg.msg_type() != wire::kDhcpv6InformationRequest || ip.src().is_unspecified()) {
    ++ctx_.counters.dhcpv6_ignored;
    return;
  }
  const StackConfig& c = ctx_.cfg;
  wire::Dhcpv6Reply r(wire::kDhcpv6Reply, msg.transaction_id());
  // DUID-LL (RFC 8415 11.4): type 3, hardware type 1 (Ethernet), the MAC.
  std::array<std::byte, 10> duid{};
  wire::store_be16(duid, 0, 3);
  wire::store_be16(duid, 2, 1);
  wire::store_mac(duid, 4, c.gateway_mac);
  r.add_option(wire::kDhcpv6OptServerId, duid);
  if (auto cid = msg.option(wire::kDhcpv6OptClientId)) r.add_option(wire::kDhcpv6OptClientId, *cid);
  if (auto dns = c.guest_dns6(); !dns.empty()) r.add_addrs(wire::kDhcpv6OptDnsServers, dns);
  if (!c.dns_search_wire.empty()) r.add_option(wire::kDhcpv6OptDomainList, c.dns_search_wire);
  r.add_u32(wire::kDhcpv6OptInfoRefreshTime, kInfoRefreshSeconds);
  wire::IpHeader h{.src = c.router_ll, .dst = ip.src(), .proto = wire::IpProto::Udp};
  out.to_tap.push_back(wire::build_ip_udp(ctx_.to_guest(), h, wire::kDhcpv6ServerPort, src_port, r.bytes()));
  ++ctx_.counters.dhcpv6_replies;
}

}  // namespace netd::tap
