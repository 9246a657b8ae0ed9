#include "tap/dhcp_server.h"

#include <array>

#include "common/log.h"
#include "tap/wire/builder.h"

namespace netd::tap {

void DhcpServer::on_message(const wire::DhcpView& msg, Actions& out) {
  if (msg.op() != 1) {  // BOOTREQUEST only
    ++ctx_.counters.dhcp_ignored;
    return;
  }
  auto type = msg.message_type();
  if (!type) {
    ++ctx_.counters.dhcp_ignored;  // plain BOOTP is not served
    return;
  }
  const wire::Ipv4Addr guest = ctx_.cfg.guest;
  switch (*type) {
    case wire::kDhcpDiscover:
      reply(msg, wire::kDhcpOffer, guest, out);
      ++ctx_.counters.dhcp_offers;
      return;
    case wire::kDhcpRequest: {
      auto server = msg.server_id();
      if (server && *server != ctx_.cfg.gateway) {
        ++ctx_.counters.dhcp_ignored;  // the client accepted another server's offer
        return;
      }
      // SELECTING / INIT-REBOOT name the address in option 50; RENEWING and
      // REBINDING put it in ciaddr.
      wire::Ipv4Addr wanted = msg.requested_ip().value_or(msg.ciaddr());
      if (wanted == guest) {
        reply(msg, wire::kDhcpAck, guest, out);
        ++ctx_.counters.dhcp_acks;
      } else {
        LOG_DEBUG("dhcp: NAK for %s (only %s is leased here)", wanted.to_string().c_str(),
                  guest.to_string().c_str());
        reply(msg, wire::kDhcpNak, wire::Ipv4Addr{0}, out);
        ++ctx_.counters.dhcp_naks;
      }
      return;
    }
    case wire::kDhcpInform:
      reply(msg, wire::kDhcpAck, wire::Ipv4Addr{0}, out);
      ++ctx_.counters.dhcp_acks;
      return;
    default:  // DECLINE, RELEASE and anything unknown: nothing to answer
      ++ctx_.counters.dhcp_ignored;
      return;
  }
}

void DhcpServer::reply(const wire::DhcpView& req, uint8_t type, wire::Ipv4Addr yiaddr, Actions& out) {
  const StackConfig& c = ctx_.cfg;
  wire::DhcpReplyBuilder b(req, type, yiaddr, c.gateway);
  if (type != wire::kDhcpNak) {
    const bool inform = yiaddr.is_unspecified();
    if (!inform) {
      b.add_u32(wire::kDhcpOptLeaseTime, c.dhcp_lease_seconds);
      b.add_u32(wire::kDhcpOptRenewalTime, c.dhcp_lease_seconds / 2);
      b.add_u32(wire::kDhcpOptRebindingTime, c.dhcp_lease_seconds / 8 * 7);
    }
    b.add_addr(wire::kDhcpOptSubnetMask, c.cidr.netmask());
    b.add_addr(wire::kDhcpOptRouter, c.gateway);
    if (auto dns = c.guest_dns4(); !dns.empty()) b.add_addrs(wire::kDhcpOptDns, dns);
    b.add_addr(wire::kDhcpOptBroadcast, c.cidr.broadcast());
    // Option 26 is 16 bits; clamp so a 65520 MTU stays representable.
    b.add_u16(wire::kDhcpOptInterfaceMtu, static_cast<uint16_t>(c.mtu > 65535 ? 65535 : c.mtu));
  }
  std::vector<std::byte> payload = b.finish();

  // Where the reply goes at IP level: broadcast when asked for (flag) or when
  // the client has no address yet; to ciaddr when it has one (renewal).
  const bool broadcast = req.broadcast_flag() || type == wire::kDhcpNak;
  wire::Ipv4Addr dst = wire::Ipv4Addr::from_octets(255, 255, 255, 255);
  if (!broadcast) {
    if (!req.ciaddr().is_unspecified()) dst = req.ciaddr();
    else if (!yiaddr.is_unspecified()) dst = yiaddr;
  }
  wire::L2Addrs l2{c.gateway_mac, dst.is_broadcast() ? wire::MacAddr::broadcast() : req.client_mac()};
  wire::IpHeader ip{.src = c.gateway, .dst = dst, .proto = wire::IpProto::Udp};
  out.to_tap.push_back(wire::build_ip_udp(l2, ip, 67, 68, payload));
}

}  // namespace netd::tap
