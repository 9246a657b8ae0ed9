#include "bridge/links.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace netd::bridge {

namespace {

std::string nlerr(int rc) { return nl_geterror(rc); }

nl_addr* build_v4(net::Ipv4Addr a, int prefix) {
  uint32_t be = htonl(a.v);
  nl_addr* n = nl_addr_build(AF_INET, &be, sizeof be);
  if (n) nl_addr_set_prefixlen(n, prefix);
  return n;
}

nl_addr* build_v6(const net::Ipv6Addr& a, int prefix) {
  nl_addr* n = nl_addr_build(AF_INET6, a.b.data(), a.b.size());
  if (n) nl_addr_set_prefixlen(n, prefix);
  return n;
}

}  // namespace

Expected<RouteSocket, std::string> RouteSocket::open_in(const NsTarget& target) {
  auto fds = run_in_netns(target, []() -> NsChildResult {
    int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) return unexpected(std::string("cannot open a netlink socket: ") + std::strerror(errno));
    return std::vector<int>{fd};
  });
  if (!fds) return unexpected(fds.error());
  if (fds->size() != 1) return unexpected(std::string("namespace helper returned no netlink socket"));
  NlSock sk(nl_socket_alloc());
  if (!sk) return unexpected(std::string("out of memory (nl_socket_alloc)"));
  int fd = (*fds)[0].release();
  int rc = nl_socket_set_fd(sk.get(), NETLINK_ROUTE, fd);
  if (rc < 0) {
    ::close(fd);
    return unexpected("cannot adopt the netlink socket: " + nlerr(rc));
  }
  return RouteSocket(std::move(sk));
}

Expected<std::vector<std::string>, std::string> RouteSocket::link_names() {
  std::vector<std::string> out;
  nl_cache* raw = nullptr;
  int rc = rtnl_link_alloc_cache(sk_.get(), AF_UNSPEC, &raw);
  NlCache cache(raw);
  if (rc < 0 || !cache) return unexpected("cannot list links: " + nlerr(rc < 0 ? rc : -NLE_NOMEM));
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
    const char* name = rtnl_link_get_name(reinterpret_cast<rtnl_link*>(o));
    if (name) out.emplace_back(name);
  }
  return out;
}

int RouteSocket::index_of(const std::string& name) {
  rtnl_link* raw = nullptr;
  int rc = rtnl_link_get_kernel(sk_.get(), 0, name.c_str(), &raw);
  NlLink l(raw);
  if (rc < 0 || !l) return 0;
  return rtnl_link_get_ifindex(l.get());
}

Expected<void, std::string> RouteSocket::set_up(const std::string& name) {
  rtnl_link* raw = nullptr;
  int rc = rtnl_link_get_kernel(sk_.get(), 0, name.c_str(), &raw);
  NlLink orig(raw);
  if (rc < 0) return unexpected("cannot find link " + name + ": " + nlerr(rc));
  NlLink change(rtnl_link_alloc());
  if (!change) return unexpected(std::string("out of memory (rtnl_link_alloc)"));
  rtnl_link_set_flags(change.get(), IFF_UP);
  rc = rtnl_link_change(sk_.get(), orig.get(), change.get(), 0);
  if (rc < 0) return unexpected("cannot set " + name + " up: " + nlerr(rc));
  return {};
}

Expected<void, std::string> RouteSocket::add_addr(const std::string& name, nl_addr* local, const std::string& text,
                                                  bool nodad) {
  int idx = index_of(name);
  if (idx == 0) return unexpected("cannot find link " + name);
  NlRtAddr a(rtnl_addr_alloc());
  if (!a) return unexpected(std::string("out of memory (rtnl_addr_alloc)"));
  rtnl_addr_set_ifindex(a.get(), idx);
  rtnl_addr_set_local(a.get(), local);
  rtnl_addr_set_prefixlen(a.get(), nl_addr_get_prefixlen(local));
  if (nodad) rtnl_addr_set_flags(a.get(), IFA_F_NODAD);
  int rc = rtnl_addr_add(sk_.get(), a.get(), 0);
  if (rc < 0 && rc != -NLE_EXIST) return unexpected("cannot add address " + text + " to " + name + ": " + nlerr(rc));
  return {};
}

Expected<void, std::string> RouteSocket::add_address(const std::string& name, net::Ipv4Addr addr, int prefix) {
  NlAddr local(build_v4(addr, prefix));
  return add_addr(name, local.get(), addr.to_string() + "/" + std::to_string(prefix), false);
}

Expected<void, std::string> RouteSocket::add_address(const std::string& name, const net::Ipv6Addr& addr, int prefix) {
  NlAddr local(build_v6(addr, prefix));
  return add_addr(name, local.get(), addr.to_string() + "/" + std::to_string(prefix), true);
}

Expected<void, std::string> RouteSocket::ensure_bridge(const std::string& name, net::Ipv4Addr gateway, int prefix) {
  if (index_of(name) == 0) {
    NlLink l(rtnl_link_alloc());
    if (!l) return unexpected(std::string("out of memory (rtnl_link_alloc)"));
    rtnl_link_set_name(l.get(), name.c_str());
    rtnl_link_set_type(l.get(), "bridge");
    // A bridge without an address of its own takes the lowest address of its
    // ports, so it changes when members come and go, and every container's
    // ARP entry for the gateway goes stale (queries to the DNS server time out
    // until it is re-resolved). A fixed, random, locally administered address
    // keeps the gateway where the containers last saw it.
    unsigned char mac[6];
    if (::getrandom(mac, sizeof mac, 0) == static_cast<ssize_t>(sizeof mac)) {
      mac[0] = static_cast<unsigned char>((mac[0] & 0xfe) | 0x02);
      NlAddr a(nl_addr_build(AF_LLC, mac, sizeof mac));
      if (a) rtnl_link_set_addr(l.get(), a.get());
    }
    int rc = rtnl_link_add(sk_.get(), l.get(), NLM_F_CREATE | NLM_F_EXCL);
    if (rc < 0 && rc != -NLE_EXIST) return unexpected("cannot create bridge " + name + ": " + nlerr(rc));
  }
  if (auto r = add_address(name, gateway, prefix); !r) return r;
  return set_up(name);
}

Expected<void, std::string> RouteSocket::create_veth(const std::string& host_name, int master_index,
                                                     const std::string& peer_name, int peer_netns_fd) {
  NlLink l(rtnl_link_veth_alloc());
  if (!l) return unexpected(std::string("out of memory (veth)"));
  rtnl_link_set_name(l.get(), host_name.c_str());
  rtnl_link_set_master(l.get(), master_index);
  NlLink peer(rtnl_link_veth_get_peer(l.get()));  // a reference of our own to l's peer
  rtnl_link_set_name(peer.get(), peer_name.c_str());
  rtnl_link_set_ns_fd(peer.get(), peer_netns_fd);
  int rc = rtnl_link_add(sk_.get(), l.get(), NLM_F_CREATE | NLM_F_EXCL);
  if (rc < 0) {
    std::string why = nlerr(rc);
    if (rc == -NLE_EXIST) why += " (is there already an interface " + peer_name + " in the container?)";
    return unexpected("cannot create veth pair " + host_name + " <-> " + peer_name + ": " + why);
  }
  return set_up(host_name);
}

Expected<void, std::string> RouteSocket::delete_link(const std::string& name) {
  NlLink l(rtnl_link_alloc());
  if (!l) return unexpected(std::string("out of memory (rtnl_link_alloc)"));
  rtnl_link_set_name(l.get(), name.c_str());
  int rc = rtnl_link_delete(sk_.get(), l.get());
  if (rc < 0 && rc != -NLE_OBJ_NOTFOUND && rc != -NLE_NODEV)
    return unexpected("cannot delete link " + name + ": " + nlerr(rc));
  return {};
}

Expected<void, std::string> RouteSocket::add_default(const std::string& name, int family, nl_addr* dst, nl_addr* gw,
                                                     const std::string& text) {
  int idx = index_of(name);
  if (idx == 0) return unexpected("cannot find link " + name);
  NlRoute r(rtnl_route_alloc());
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  if (!r || !nh) {
    if (nh) rtnl_route_nh_free(nh);
    return unexpected(std::string("out of memory (rtnl_route_alloc)"));
  }
  rtnl_route_set_family(r.get(), static_cast<uint8_t>(family));
  rtnl_route_set_table(r.get(), RT_TABLE_MAIN);
  rtnl_route_set_dst(r.get(), dst);
  rtnl_route_nh_set_ifindex(nh, idx);
  rtnl_route_nh_set_gateway(nh, gw);
  rtnl_route_add_nexthop(r.get(), nh);  // r owns nh now
  int rc = rtnl_route_add(sk_.get(), r.get(), NLM_F_CREATE);
  if (rc < 0 && rc != -NLE_EXIST)
    return unexpected("cannot add default route via " + text + " on " + name + ": " + nlerr(rc));
  return {};
}

Expected<void, std::string> RouteSocket::add_default_route(const std::string& name, net::Ipv4Addr gateway) {
  NlAddr dst(build_v4(net::Ipv4Addr{0}, 0));
  NlAddr gw(build_v4(gateway, 32));
  return add_default(name, AF_INET, dst.get(), gw.get(), gateway.to_string());
}

Expected<void, std::string> RouteSocket::add_default_route(const std::string& name, const net::Ipv6Addr& gateway) {
  NlAddr dst(build_v6(net::Ipv6Addr{}, 0));
  NlAddr gw(build_v6(gateway, 128));
  return add_default(name, AF_INET6, dst.get(), gw.get(), gateway.to_string());
}

Expected<void, std::string> write_sysctl_in(const NsTarget& target, const std::string& path,
                                            const std::string& value) {
  auto r = run_in_netns(target, [&]() -> NsChildResult {
    std::string full = "/proc/sys/" + path;
    int fd = ::open(full.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return unexpected("cannot open " + full + ": " + std::strerror(errno));
    ssize_t n = ::write(fd, value.data(), value.size());
    int e = errno;
    ::close(fd);
    if (n < 0) return unexpected("cannot write " + full + ": " + std::strerror(e));
    return std::vector<int>{};
  });
  if (!r) return unexpected(r.error());
  return {};
}

}  // namespace netd::bridge
