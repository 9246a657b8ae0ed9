#include "bridge/ipam.h"

#include <algorithm>

namespace netd::bridge {

Expected<Ipv4Cidr, std::string> next_free_subnet(const std::vector<Ipv4Cidr>& used) {
  Ipv4Cidr pool = *parse_cidr(kDefaultPool);
  uint32_t step = uint32_t{1} << (32 - kDefaultPrefix);
  for (uint32_t a = pool.network().v; a <= pool.broadcast().v - (step - 1); a += step) {
    Ipv4Cidr cand{Ipv4{a}, kDefaultPrefix};
    bool clash = std::any_of(used.begin(), used.end(), [&](const Ipv4Cidr& u) { return u.overlaps(cand); });
    if (!clash) return cand;
  }
  return unexpected(std::string("no free /24 left in ") + kDefaultPool + " (pass --subnet)");
}

namespace {
bool is_leased(const std::vector<Ipv4>& leased, Ipv4 a) {
  return std::find(leased.begin(), leased.end(), a) != leased.end();
}
}  // namespace

Expected<Ipv4, std::string> allocate_address(const Ipv4Net& net, const std::optional<LeaseRange>& range,
                                             const std::vector<Ipv4>& leased) {
  uint32_t first = net.subnet.network().v + 1;
  uint32_t last = net.subnet.broadcast().v - 1;
  if (net.subnet.prefix >= 31) return unexpected(std::string("subnet too small for members"));
  if (range) {
    auto s = parse_ipv4(range->start_ip);
    auto e = parse_ipv4(range->end_ip);
    if (s && net.subnet.contains(*s)) first = std::max(first, s->v);
    if (e && net.subnet.contains(*e)) last = std::min(last, e->v);
  }
  for (uint64_t a = first; a <= last; ++a) {
    Ipv4 cand{static_cast<uint32_t>(a)};
    if (cand == net.gateway || is_leased(leased, cand)) continue;
    return cand;
  }
  return unexpected("no free address left in " + to_string(net.subnet));
}

Expected<Ipv6Cidr, std::string> next_free_subnet6(const std::vector<Ipv6Cidr>& used) {
  Ipv6Cidr pool = *parse_cidr6(kDefaultPool6);
  for (uint32_t n = 0; n <= 0xffff; ++n) {
    Ipv6Cidr cand{pool.network(), 64};
    cand.addr.b[6] = static_cast<uint8_t>(n >> 8);
    cand.addr.b[7] = static_cast<uint8_t>(n);
    bool clash = std::any_of(used.begin(), used.end(), [&](const Ipv6Cidr& u) { return u.overlaps(cand); });
    if (!clash) return cand;
  }
  return unexpected(std::string("no free /64 left in ") + kDefaultPool6);
}

Expected<Ipv6, std::string> allocate_address6(const Ipv6Net& net, const std::vector<Ipv6>& leased) {
  for (uint32_t n = 1; n <= 0xffff; ++n) {
    Ipv6 cand = net.subnet.host(n);
    if (cand == net.gateway || std::find(leased.begin(), leased.end(), cand) != leased.end()) continue;
    return cand;
  }
  return unexpected("no free address left in " + to_string(net.subnet));
}

std::optional<std::string> check_static_address(const Ipv4Net& net, Ipv4 want,
                                                const std::vector<Ipv4>& leased) {
  if (!net.subnet.contains(want))
    return "address " + to_string(want) + " is not inside subnet " + to_string(net.subnet);
  if (want == net.subnet.network() || want == net.subnet.broadcast())
    return "address " + to_string(want) + " is not a host address of " + to_string(net.subnet);
  if (want == net.gateway) return "address " + to_string(want) + " is the gateway";
  if (is_leased(leased, want)) return "address " + to_string(want) + " is already in use";
  return std::nullopt;
}

}  // namespace netd::bridge
