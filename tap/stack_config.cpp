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
