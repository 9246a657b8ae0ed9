#include "netd/host_network.h"

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>

#include <cstring>
#include <memory>

namespace netd {
namespace {

struct SockFree {
  void operator()(nl_sock* s) const { nl_socket_free(s); }
};
struct CacheFree {
  void operator()(nl_cache* c) const { nl_cache_free(c); }
};
using Sock = std::unique_ptr<nl_sock, SockFree>;
using Cache = std::unique_ptr<nl_cache, CacheFree>;

// An nl_addr of family AF_INET/AF_INET6 -> IpAddr; nullopt for anything else.
std::optional<net::IpAddr> to_ip(nl_addr* a) {
  if (!a) return std::nullopt;
  const auto* p = static_cast<const uint8_t*>(nl_addr_get_binary_addr(a));
  unsigned len = nl_addr_get_len(a);
  if (nl_addr_get_family(a) == AF_INET && len == 4)
    return net::IpAddr(net::Ipv4Addr::from_octets(p[0], p[1], p[2], p[3]));
  if (nl_addr_get_family(a) == AF_INET6 && len == 16) {
    net::Ipv6Addr v6;
    std::memcpy(v6.b.data(), p, 16);
    return net::IpAddr(v6);
  }
  if (len == 0) {  // a default route's destination has no bytes
    if (nl_addr_get_family(a) == AF_INET) return net::IpAddr(net::Ipv4Addr{});
    if (nl_addr_get_family(a) == AF_INET6) return net::IpAddr(net::Ipv6Addr{});
  }
  return std::nullopt;
}

bool is_link_local_prefix(const net::IpAddr& a, uint8_t len) {
  if (a.is_v4()) return len >= 16 && (a.v4().v >> 16) == 0xa9fe;  // 169.254/16
  return len >= 10 && a.v6().is_link_local();
}

}  // namespace

Expected<HostNetwork, std::string> read_host_network() {
  Sock sk(nl_socket_alloc());
  if (!sk) return unexpected(std::string("libnl: out of memory"));
  int err = nl_connect(sk.get(), NETLINK_ROUTE);
  if (err < 0) return unexpected(std::string("netlink: ") + nl_geterror(err));
  HostNetwork net;

  nl_cache* raw = nullptr;
  if ((err = rtnl_link_alloc_cache(sk.get(), AF_UNSPEC, &raw)) < 0)
    return unexpected(std::string("cannot list interfaces: ") + nl_geterror(err));
  Cache links(raw);
  for (nl_object* o = nl_cache_get_first(links.get()); o; o = nl_cache_get_next(o)) {
    auto* l = reinterpret_cast<rtnl_link*>(o);
    const char* name = rtnl_link_get_name(l);
    net.links.push_back({rtnl_link_get_ifindex(l), name ? name : "", rtnl_link_get_mtu(l)});
  }

  if ((err = rtnl_addr_alloc_cache(sk.get(), &raw)) < 0)
    return unexpected(std::string("cannot list addresses: ") + nl_geterror(err));
  Cache addrs(raw);
  for (nl_object* o = nl_cache_get_first(addrs.get()); o; o = nl_cache_get_next(o)) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);
    auto ip = to_ip(rtnl_addr_get_local(a));
    if (!ip) continue;
    HostAddress h;
    h.ifindex = rtnl_addr_get_ifindex(a);
    h.addr = *ip;
    h.prefix = static_cast<uint8_t>(rtnl_addr_get_prefixlen(a));
    h.link_scope = rtnl_addr_get_scope(a) >= RT_SCOPE_LINK;
    h.deprecated = (rtnl_addr_get_flags(a) & IFA_F_DEPRECATED) != 0;
    net.addresses.push_back(h);
  }

  if ((err = rtnl_route_alloc_cache(sk.get(), AF_UNSPEC, 0, &raw)) < 0)
    return unexpected(std::string("cannot list routes: ") + nl_geterror(err));
  Cache routes(raw);
  for (nl_object* o = nl_cache_get_first(routes.get()); o; o = nl_cache_get_next(o)) {
    auto* r = reinterpret_cast<rtnl_route*>(o);
    if (rtnl_route_get_table(r) != RT_TABLE_MAIN || rtnl_route_get_type(r) != RTN_UNICAST) continue;
    if (rtnl_route_get_nnexthops(r) < 1) continue;
    rtnl_nexthop* nh = rtnl_route_nexthop_n(r, 0);
    auto dst = to_ip(rtnl_route_get_dst(r));
    if (!dst) continue;
    HostRoute h;
    h.ifindex = rtnl_route_nh_get_ifindex(nh);
    h.dst = *dst;
    h.dst_len = static_cast<uint8_t>(nl_addr_get_prefixlen(rtnl_route_get_dst(r)));
    h.gateway = to_ip(rtnl_route_nh_get_gateway(nh));
    net.routes.push_back(h);
  }
  return net;
}

int pick_template_interface(const HostNetwork& net, net::IpFamily family) {
  int with_default = 0, with_any = 0;
  for (const auto& r : net.routes) {
    if (r.dst.family() != family || r.ifindex <= 0 || r.ifindex == 1) continue;  // 1: lo
    if (!r.is_default() && is_link_local_prefix(r.dst, r.dst_len)) continue;
    if (r.is_default()) {
      if (!with_default) with_default = r.ifindex;
    } else if (!with_any) {
      with_any = r.ifindex;
    }
  }
  return with_default ? with_default : with_any;
}

int interface_index(const HostNetwork& net, const std::string& name) {
  for (const auto& l : net.links)
    if (l.name == name) return l.ifindex;
  return 0;
}

std::optional<HostTemplate> host_template(const HostNetwork& net, net::IpFamily family, int ifindex) {
  HostTemplate t;
  for (const auto& l : net.links) {
    if (l.ifindex == ifindex) {
      t.ifindex = ifindex;
      t.ifname = l.name;
      t.mtu = l.mtu;
    }
  }
  if (!t.ifindex) return std::nullopt;
  for (const auto& a : net.addresses) {
    if (a.ifindex != ifindex || a.addr.family() != family || a.deprecated) continue;
    if (family == net::IpFamily::V6 && a.link_scope) {
      if (!t.link_local) t.link_local = a.addr;
      continue;
    }
    t.addresses.push_back(a);
    if (!t.addr || a.prefix > t.prefix) {
      t.addr = a.addr;
      t.prefix = a.prefix;
    }
  }
  for (const auto& r : net.routes) {
    if (r.ifindex != ifindex || r.dst.family() != family) continue;
    t.routes.push_back(r);
    if (r.is_default() && r.gateway && !t.gateway) t.gateway = r.gateway;
  }
  return t;
}

}  // namespace netd
