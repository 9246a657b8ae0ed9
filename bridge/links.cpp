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

// RAII for the libnl objects used here.
struct LinkPtr {
  rtnl_link* p;
  ~LinkPtr() {
    if (p) rtnl_link_put(p);
  }
};
struct AddrPtr {
  nl_addr* p;
  ~AddrPtr() {
    if (p) nl_addr_put(p);
  }
};

nl_addr* build_v4(Ipv4 a, int prefix) {
  uint32_t be = htonl(a.v);
  nl_addr* n = nl_addr_build(AF_INET, &be, sizeof be);
  if (n) nl_addr_set_prefixlen(n, prefix);
  return n;
}

nl_addr* build_v6(const Ipv6& a, int prefix) {
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
  nl_sock* sk = nl_socket_alloc();
  if (!sk) return unexpected(std::string("out of memory (nl_socket_alloc)"));
  int fd = (*fds)[0].release();
  int rc = nl_socket_set_fd(sk, NETLINK_ROUTE, fd);
  if (rc < 0) {
    ::close(fd);
    nl_socket_free(sk);
    return unexpected("cannot adopt the netlink socket: " + nlerr(rc));
  }
  return RouteSocket(sk);
}

RouteSocket::RouteSocket(RouteSocket&& o) noexcept : sk_(std::exchange(o.sk_, nullptr)) {}
RouteSocket& RouteSocket::operator=(RouteSocket&& o) noexcept {
  if (this != &o) {
    if (sk_) nl_socket_free(sk_);
    sk_ = std::exchange(o.sk_, nullptr);
  }
  return *this;
}
RouteSocket::~RouteSocket() {
  if (sk_) nl_socket_free(sk_);  // closes the fd
}

Expected<std::vector<std::string>, std::string> RouteSocket::link_names() {
  std::vector<std::string> out;
  nl_cache* cache = nullptr;
  int rc = rtnl_link_alloc_cache(sk_, AF_UNSPEC, &cache);
  if (rc < 0 || !cache) return unexpected("cannot list links: " + nlerr(rc < 0 ? rc : -NLE_NOMEM));
  for (nl_object* o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
    const char* name = rtnl_link_get_name(reinterpret_cast<rtnl_link*>(o));
    if (name) out.emplace_back(name);
  }
  nl_cache_free(cache);
  return out;
}

int RouteSocket::index_of(const std::string& name) {
  rtnl_link* l = nullptr;
  if (rtnl_link_get_kernel(sk_, 0, name.c_str(), &l) < 0 || !l) return 0;
  int idx = rtnl_link_get_ifindex(l);
  rtnl_link_put(l);
  return idx;
}

Expected<void, std::string> RouteSocket::set_up(const std::string& name) {
  rtnl_link* orig = nullptr;
  int rc = rtnl_link_get_kernel(sk_, 0, name.c_str(), &orig);
  if (rc < 0) return unexpected("cannot find link " + name + ": " + nlerr(rc));
  LinkPtr o{orig};
  LinkPtr change{rtnl_link_alloc()};
  rtnl_link_set_flags(change.p, IFF_UP);
  rc = rtnl_link_change(sk_, o.p, change.p, 0);
  if (rc < 0) return unexpected("cannot set " + name + " up: " + nlerr(rc));
  return {};
}

Expected<void, std::string> RouteSocket::add_addr(const std::string& name, nl_addr* local, const std::string& text,
                                                  bool nodad) {
  int idx = index_of(name);
  if (idx == 0) return unexpected("cannot find link " + name);
  rtnl_addr* a = rtnl_addr_alloc();
  rtnl_addr_set_ifindex(a, idx);
  rtnl_addr_set_local(a, local);
  rtnl_addr_set_prefixlen(a, nl_addr_get_prefixlen(local));
  if (nodad) rtnl_addr_set_flags(a, IFA_F_NODAD);
  int rc = rtnl_addr_add(sk_, a, 0);
  rtnl_addr_put(a);
  if (rc < 0 && rc != -NLE_EXIST) return unexpected("cannot add address " + text + " to " + name + ": " + nlerr(rc));
  return {};
}

Expected<void, std::string> RouteSocket::add_address(const std::string& name, Ipv4 addr, int prefix) {
  AddrPtr local{build_v4(addr, prefix)};
  return add_addr(name, local.p, to_string(addr) + "/" + std::to_string(prefix), false);
}

Expected<void, std::string> RouteSocket::add_address(const std::string& name, const Ipv6& addr, int prefix) {
  AddrPtr local{build_v6(addr, prefix)};
  return add_addr(name, local.p, to_string(addr) + "/" + std::to_string(prefix), true);
}

Expected<void, std::string> RouteSocket::ensure_bridge(const std::string& name, Ipv4 gateway, int prefix) {
  if (index_of(name) == 0) {
    LinkPtr l{rtnl_link_alloc()};
    rtnl_link_set_name(l.p, name.c_str());
    rtnl_link_set_type(l.p, "bridge");
    // A bridge without an address of its own takes the lowest address of its
    // ports, so it changes when members come and go, and every container's
    // ARP entry for the gateway goes stale (queries to the DNS server time out
    // until it is re-resolved). A fixed, random, locally administered address
    // keeps the gateway where the containers last saw it.
    unsigned char mac[6];
    if (::getrandom(mac, sizeof mac, 0) == static_cast<ssize_t>(sizeof mac)) {
      mac[0] = static_cast<unsigned char>((mac[0] & 0xfe) | 0x02);
      AddrPtr a{nl_addr_build(AF_LLC, mac, sizeof mac)};
      if (a.p) rtnl_link_set_addr(l.p, a.p);
    }
    int rc = rtnl_link_add(sk_, l.p, NLM_F_CREATE | NLM_F_EXCL);
    if (rc < 0 && rc != -NLE_EXIST) return unexpected("cannot create bridge " + name + ": " + nlerr(rc));
  }
  if (auto r = add_address(name, gateway, prefix); !r) return r;
  return set_up(name);
}

Expected<void, std::string> RouteSocket::create_veth(const std::string& host_name, int master_index,
                                                     const std::string& peer_name, int peer_netns_fd) {
  LinkPtr l{rtnl_link_veth_alloc()};
  if (!l.p) return unexpected(std::string("out of memory (veth)"));
  rtnl_link_set_name(l.p, host_name.c_str());
  rtnl_link_set_master(l.p, master_index);
  rtnl_link* peer = rtnl_link_veth_get_peer(l.p);  // owned by l
  rtnl_link_set_name(peer, peer_name.c_str());
  rtnl_link_set_ns_fd(peer, peer_netns_fd);
  rtnl_link_put(peer);  // get_peer took a reference
  int rc = rtnl_link_add(sk_, l.p, NLM_F_CREATE | NLM_F_EXCL);
  if (rc < 0) {
    std::string why = nlerr(rc);
    if (rc == -NLE_EXIST) why += " (is there already an interface " + peer_name + " in the container?)";
    return unexpected("cannot create veth pair " + host_name + " <-> " + peer_name + ": " + why);
  }
  return set_up(host_name);
}

Expected<void, std::string> RouteSocket::delete_link(const std::string& name) {
  LinkPtr l{rtnl_link_alloc()};
  rtnl_link_set_name(l.p, name.c_str());
  int rc = rtnl_link_delete(sk_, l.p);
  if (rc < 0 && rc != -NLE_OBJ_NOTFOUND && rc != -NLE_NODEV)
    return unexpected("cannot delete link " + name + ": " + nlerr(rc));
  return {};
}

Expected<void, std::string> RouteSocket::add_default(const std::string& name, int family, nl_addr* dst, nl_addr* gw,
                                                     const std::string& text) {
  int idx = index_of(name);
  if (idx == 0) return unexpected("cannot find link " + name);
  rtnl_route* r = rtnl_route_alloc();
  rtnl_route_set_family(r, static_cast<uint8_t>(family));
  rtnl_route_set_table(r, RT_TABLE_MAIN);
  rtnl_route_set_dst(r, dst);
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  rtnl_route_nh_set_ifindex(nh, idx);
  rtnl_route_nh_set_gateway(nh, gw);
  rtnl_route_add_nexthop(r, nh);  // r owns nh now
  int rc = rtnl_route_add(sk_, r, NLM_F_CREATE);
  rtnl_route_put(r);
  if (rc < 0 && rc != -NLE_EXIST)
    return unexpected("cannot add default route via " + text + " on " + name + ": " + nlerr(rc));
  return {};
}

Expected<void, std::string> RouteSocket::add_default_route(const std::string& name, Ipv4 gateway) {
  AddrPtr dst{build_v4(Ipv4{0}, 0)};
  AddrPtr gw{build_v4(gateway, 32)};
  return add_default(name, AF_INET, dst.p, gw.p, to_string(gateway));
}

Expected<void, std::string> RouteSocket::add_default_route(const std::string& name, const Ipv6& gateway) {
  AddrPtr dst{build_v6(Ipv6{}, 0)};
  AddrPtr gw{build_v6(gateway, 128)};
  return add_default(name, AF_INET6, dst.p, gw.p, to_string(gateway));
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
