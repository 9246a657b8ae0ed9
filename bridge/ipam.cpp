#include "bridge/ipam.h"

#include <algorithm>

namespace netd::bridge {

Expected<net::Ipv4Cidr, std::string> next_free_subnet(const std::vector<net::Ipv4Cidr>& used) {
  net::Ipv4Cidr pool = *net::Ipv4Cidr::parse(kDefaultPool);
  uint32_t step = uint32_t{1} << (32 - kDefaultPrefix);
  for (uint32_t a = pool.network().v; a <= pool.broadcast().v - (step - 1); a += step) {
    net::Ipv4Cidr cand{net::Ipv4Addr{a}, kDefaultPrefix};
    bool clash = std::any_of(used.begin(), used.end(), [&](const net::Ipv4Cidr& u) { return u.overlaps(cand); });
    if (!clash) return cand;
  }
  return unexpected(std::string("no free /24 left in ") + kDefaultPool + " (pass --subnet)");
}

namespace {
bool is_leased(const std::vector<net::Ipv4Addr>& leased, net::Ipv4Addr a) {
  return std::find(leased.begin(), leased.end(), a) != leased.end();
}
}  // namespace

Expected<net::Ipv4Addr, std::string> allocate_address(const Ipv4Net& net, const std::optional<LeaseRange>& range,
                                             const std::vector<net::Ipv4Addr>& leased) {
  uint32_t first = net.subnet.network().v + 1;
  uint32_t last = net.subnet.broadcast().v - 1;
  if (net.subnet.prefix >= 31) return unexpected(std::string("subnet too small for members"));
  if (range) {
    auto s = net::Ipv4Addr::parse(range->start_ip);
    auto e = net::Ipv4Addr::parse(range->end_ip);
    if (s && net.subnet.contains(*s)) first = std::max(first, s->v);
    if (e && net.subnet.contains(*e)) last = std::min(last, e->v);
  }
  for (uint64_t a = first; a <= last; ++a) {
    net::Ipv4Addr cand{static_cast<uint32_t>(a)};
    if (cand == net.gateway || is_leased(leased, cand)) continue;
    return cand;
  }
  return unexpected("no free address left in " + net.subnet.to_string());
}

Expected<net::Ipv6Cidr, std::string> next_free_subnet6(const std::vector<net::Ipv6Cidr>& used) {
  net::Ipv6Cidr pool = *net::Ipv6Cidr::parse(kDefaultPool6);
  for (uint32_t n = 0; n <= 0xffff; ++n) {
    net::Ipv6Cidr cand{pool.network(), 64};
    cand.addr.b[6] = static_cast<uint8_t>(n >> 8);
    cand.addr.b[7] = static_cast<uint8_t>(n);
    bool clash = std::any_of(used.begin(), used.end(), [&](const net::Ipv6Cidr& u) { return u.overlaps(cand); });
    if (!clash) return cand;
  }
  return unexpected(std::string("no free /64 left in ") + kDefaultPool6);
}

Expected<net::Ipv6Addr, std::string> allocate_address6(const Ipv6Net& net, const std::vector<net::Ipv6Addr>& leased) {
  for (uint32_t n = 1; n <= 0xffff; ++n) {
    net::Ipv6Addr cand = net.subnet.host(n);
    if (cand == net.gateway || std::find(leased.begin(), leased.end(), cand) != leased.end()) continue;
    return cand;
  }
  return unexpected("no free address left in " + net.subnet.to_string());
}

std::optional<std::string> check_static_address(const Ipv4Net& net, net::Ipv4Addr want,
                                                const std::vector<net::Ipv4Addr>& leased) {
  if (!net.subnet.contains(want))
    return "address " + want.to_string() + " is not inside subnet " + net.subnet.to_string();
  if (want == net.subnet.network() || want == net.subnet.broadcast())
    return "address " + want.to_string() + " is not a host address of " + net.subnet.to_string();
  if (want == net.gateway) return "address " + want.to_string() + " is the gateway";
  if (is_leased(leased, want)) return "address " + want.to_string() + " is already in use";
  return std::nullopt;
}

}  // namespace netd::bridge
