#include "tap/stack_config.h"

#include "dns/wire/name.h"

namespace netd::tap {

Expected<StackConfig, std::string> StackConfig::from_cidr(std::string_view text) {
  auto c = wire::Ipv4Cidr::parse(text);
  if (!c) return unexpected("invalid CIDR '" + std::string(text) + "' (expected e.g. 10.0.2.0/24)");
  if (c->prefix < 1 || c->prefix > 25)
    return unexpected("CIDR prefix of '" + std::string(text) + "' must be between 1 and 25");
  if (c->network() != c->addr)
    return unexpected("CIDR '" + std::string(text) + "' is not a network address (did you mean " +
                      wire::Ipv4Cidr{c->network(), c->prefix}.to_string() + "?)");
  StackConfig s;
  s.cidr = *c;
  s.gateway = c->host(2);
  s.dns = c->host(3);
  s.guest = c->host(100);
  // Locally administered, unicast: 02:4e:45:54:44:02 ("NETD").
  s.gateway_mac = wire::MacAddr{{0x02, 0x4e, 0x45, 0x54, 0x44, 0x02}};
  if (auto r = s.set_cidr6("fd00::/64"); !r) return unexpected(r.error());
  return s;
}

Expected<void, std::string> StackConfig::set_cidr6(std::string_view text) {
  auto c = wire::Ipv6Cidr::parse(text);
  if (!c) return unexpected("invalid IPv6 prefix '" + std::string(text) + "' (expected e.g. fd00::/64)");
  if (c->prefix != 64)
    return unexpected("IPv6 prefix '" + std::string(text) + "' must be a /64 (stateless autoconfiguration needs one)");
  if (c->network() != c->addr)
    return unexpected("IPv6 prefix '" + std::string(text) + "' is not a network address (did you mean " +
                      wire::Ipv6Cidr{c->network(), 64}.to_string() + "?)");
  if (c->addr.is_link_local() || c->addr.is_multicast() || c->addr.is_unspecified() || c->addr.is_v4_mapped())
    return unexpected("IPv6 prefix '" + std::string(text) + "' cannot be a guest network");
  cidr6 = *c;
  gateway6 = c->host(2);
  dns6 = c->host(3);
  return {};
}

Expected<StackConfig, std::string> StackConfig::copied_from(wire::Ipv4Cidr guest, wire::Ipv4Addr gateway) {
  if (guest.addr.is_unspecified() || guest.addr.is_loopback() || guest.addr.is_multicast() ||
      guest.addr.is_broadcast())
    return unexpected("the guest address " + guest.addr.to_string() + " cannot be used");
  if (guest.prefix < 1 || guest.prefix > 32) return unexpected("the guest prefix length must be 1..32");
  if (gateway == guest.addr) return unexpected("the gateway " + gateway.to_string() + " is the guest's own address");
  StackConfig s;
  s.layout = Layout::Copied;
  s.cidr = guest;
  s.guest = guest.addr;
  s.gateway = gateway;
  s.gateway_mac = wire::MacAddr{{0x02, 0x4e, 0x45, 0x54, 0x44, 0x02}};
  s.host_loopback = false;  // the copied layout maps loopback only through map_host_loopback
  s.ipv6 = false;
  return s;
}

Expected<void, std::string> StackConfig::set_copied6(wire::Ipv6Cidr guest_cidr, wire::Ipv6Addr gw,
                                                     wire::Ipv6Addr ll) {
  const wire::Ipv6Addr g = guest_cidr.addr;
  if (g.is_unspecified() || g.is_loopback() || g.is_multicast() || g.is_link_local() || g.is_v4_mapped())
    return unexpected("the guest IPv6 address " + g.to_string() + " cannot be used");
  if (gw == g) return unexpected("the IPv6 gateway " + gw.to_string() + " is the guest's own address");
  if (!ll.is_link_local()) return unexpected("the router address " + ll.to_string() + " is not link-local");
  cidr6 = guest_cidr;
  guest6 = g;
  gateway6 = gw;
  router_ll = ll;
  ipv6 = true;
  return {};
}

Expected<void, std::string> StackConfig::set_guest_alias(const wire::IpAddr& alias) {
  const std::string text = alias.to_string();
  auto taken = [&](const char* what) { return unexpected(text + " is " + what + ": pick another address"); };
  if (alias.is_v4()) {
    const wire::Ipv4Addr a = alias.v4();
    if (a.is_unspecified() || a.is_loopback() || a.is_multicast() || a.is_broadcast())
      return unexpected(text + " is not a unicast address");
    if (a == guest) return taken("the guest's own address");
    if (a == gateway) return taken("the gateway's address");
    if (!dns.is_unspecified() && a == dns) return taken("the DNS address");
    if (!map_host_loopback.is_unspecified() && a == map_host_loopback) return taken("the host-loopback address");
    if (a == cidr.broadcast()) return taken("the guest subnet's broadcast address");
    // Slirp layout: the guest asks the link for addresses of its subnet, and
    // netd answers ARP only as the gateway and the DNS address.
    if (!copied() && cidr.contains(a))
      return unexpected(text + " lies in the guest's subnet " + cidr.to_string() +
                        ": pick an address outside it (e.g. 169.254.1.2)");
    guest_alias = a;
    return {};
  }
  const wire::Ipv6Addr a = alias.v6();
  if (a.is_unspecified() || a.is_loopback() || a.is_multicast() || a.is_v4_mapped())
    return unexpected(text + " is not a unicast address");
  if (a.is_link_local()) return unexpected(text + " is link-local: pick a global or unique-local address");
  if (guest6 && a == *guest6) return taken("the guest's own address");
  if (a == gateway6) return taken("the gateway's address");
  if (!dns6.is_unspecified() && a == dns6) return taken("the DNS address");
  if (!map_host_loopback6.is_unspecified() && a == map_host_loopback6) return taken("the host-loopback address");
  if (!copied() && cidr6.contains(a))
    return unexpected(text + " lies in the guest's prefix " + cidr6.to_string() +
                      " (its own address comes from there): pick an address outside it");
  guest_alias6 = a;
  return {};
}

Expected<void, std::string> StackConfig::set_dns_search(const std::vector<std::string>& domains) {
  std::vector<std::byte> w;
  for (const auto& d : domains) {
    auto n = dns::wire::Name::from_text(d);
    if (!n || n->label_count() == 0) return unexpected("invalid DNS search domain '" + d + "'");
    w.insert(w.end(), n->wire().begin(), n->wire().end());
  }
  if (w.size() > 1024) return unexpected("DNS search list too long");
  dns_search_wire = std::move(w);
  return {};
}

}  // namespace netd::tap
