#include "tap/ndp_responder.h"

#include <algorithm>
#include <vector>

#include "tap/wire/builder.h"

namespace netd::tap {

namespace {
const wire::Ipv6Addr kAllNodes{{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
}  // namespace

void NdpResponder::saw_guest(Time now) {
  if (!next_ra_ && ctx_.cfg.router_advertisements) next_ra_ = now + kRaInterval;
}

bool NdpResponder::answers_for(const wire::Ipv6Addr& target, const wire::Ipv6Addr& src) const {
  const StackConfig& c = ctx_.cfg;
  if (!c.copied()) return c.is_own(wire::IpAddr(target));
  // Copied layout: every neighbour but the guest itself is behind netd. The
  // guest's own addresses are its own: its duplicate address detection
  // (unspecified source) and its questions about itself get no answer.
  if (src.is_unspecified() || target == src || c.is_guest(wire::IpAddr(target))) return false;
  return !(target.is_unspecified() || target.is_loopback() || target.is_multicast() || target.is_v4_mapped());
}

void NdpResponder::on_ndp(Time now, const wire::IpView& ip, const wire::NdpView& ndp,
                          const wire::MacAddr& src_mac, Actions& out) {
  if (ip.hop_limit() != 255) {
    ++ctx_.counters.drop_malformed;  // forwarded from off-link: never valid (RFC 4861 6.1, 7.1)
    return;
  }
  saw_guest(now);
  const wire::Ipv6Addr src = ip.src().v6();
  // Where an answer goes: the solicitation's link-layer option, else the frame's source.
  const wire::MacAddr reply_mac = ndp.link_addr(wire::kNdpOptSourceLinkAddr).value_or(src_mac);
  switch (ndp.type()) {
    case wire::kNdpRouterSolicitation:
      if (!ctx_.cfg.router_advertisements) {
        ++ctx_.counters.drop_not_for_us;  // netd configured the guest's routes itself
        return;
      }
      if (src.is_unspecified()) advertise_router(kAllNodes, wire::multicast_mac(kAllNodes), out);
      else advertise_router(src, reply_mac, out);
      return;
    case wire::kNdpNeighborSolicitation: {
      const wire::Ipv6Addr target = ndp.target();
      if (src.is_unspecified() && !ctx_.cfg.copied() && ctx_.cfg.cidr6.contains(target) &&
          !ctx_.cfg.is_own(wire::IpAddr(target))) {
        // The guest checks the address SLAAC just gave it: that is its address
        // from now on (published ports need it before it sends anything).
        ctx_.guest6 = target;
      }
      if (!answers_for(target, src)) {
        ++ctx_.counters.drop_not_for_us;  // someone else's (the guest's own DAD): stay silent
        return;
      }
      if (src.is_unspecified()) {
        // DAD for an address netd owns: defend it (RFC 4862 5.4.3).
        advertise_neighbor(target, kAllNodes, wire::multicast_mac(kAllNodes), false, out);
      } else {
        advertise_neighbor(target, src, reply_mac, true, out);
      }
      return;
    }
    default:
      ++ctx_.counters.drop_not_for_us;  // advertisements from the guest: nothing to learn
      return;
  }
}

void NdpResponder::advertise_neighbor(const wire::Ipv6Addr& target, const wire::Ipv6Addr& dst,
                                      const wire::MacAddr& dst_mac, bool solicited, Actions& out) {
  wire::NdpOptions o;
  o.link_addr(wire::kNdpOptTargetLinkAddr, ctx_.cfg.gateway_mac);
  std::vector<std::byte> body(16);
  wire::store_ipv6(body, 0, target);
  body.insert(body.end(), o.bytes().begin(), o.bytes().end());
  uint32_t flags = wire::kNaRouter | wire::kNaOverride | (solicited ? wire::kNaSolicited : 0);
  wire::IpHeader h{.src = target, .dst = dst, .ttl = 255};
  out.to_tap.push_back(wire::build_ip_icmp({ctx_.cfg.gateway_mac, dst_mac}, h, wire::kNdpNeighborAdvertisement,
                                           0, flags, body));
  ++ctx_.counters.ndp_advertisements;
}

void NdpResponder::advertise_router(const wire::Ipv6Addr& dst, const wire::MacAddr& dst_mac, Actions& out) {
  const StackConfig& c = ctx_.cfg;
  wire::NdpOptions o;
  o.link_addr(wire::kNdpOptSourceLinkAddr, c.gateway_mac);
  o.mtu(c.mtu);
  o.prefix_info({c.cidr6.prefix, wire::kPrefixOnLink | wire::kPrefixAutonomous, kPrefixValidLifetime,
                 kPrefixPreferredLifetime, c.cidr6.network()});
  if (auto dns = c.guest_dns6(); !dns.empty()) o.rdnss(kRdnssLifetime, dns.front());
  std::vector<std::byte> body(8);  // reachable time, retrans timer: unspecified (0)
  body.insert(body.end(), o.bytes().begin(), o.bytes().end());
  // cur hop limit 64, flags (O: ask DHCPv6 for the rest), router lifetime.
  uint32_t rest = (64u << 24) | (uint32_t{wire::kRaOther} << 16) | kRouterLifetime;
  wire::IpHeader h{.src = c.router_ll, .dst = dst, .ttl = 255};
  out.to_tap.push_back(
      wire::build_ip_icmp({c.gateway_mac, dst_mac}, h, wire::kNdpRouterAdvertisement, 0, rest, body));
  ++ctx_.counters.ndp_router_advertisements;
}

void NdpResponder::on_timer(Time now, Actions& out) {
  if (!next_ra_ || now < *next_ra_ || !ctx_.cfg.router_advertisements) return;
  advertise_router(kAllNodes, wire::multicast_mac(kAllNodes), out);
  next_ra_ = now + kRaInterval;
}

}  // namespace netd::tap
