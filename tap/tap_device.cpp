#include "tap/tap_device.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace netd::tap {
namespace {

template <class T, void (*Free)(T*)>
struct NlDeleter {
  void operator()(T* p) const { if (p) Free(p); }
};
using NlSock = std::unique_ptr<nl_sock, NlDeleter<nl_sock, nl_socket_free>>;
using NlLink = std::unique_ptr<rtnl_link, NlDeleter<rtnl_link, rtnl_link_put>>;
using NlAddr = std::unique_ptr<nl_addr, NlDeleter<nl_addr, nl_addr_put>>;
using NlRtAddr = std::unique_ptr<rtnl_addr, NlDeleter<rtnl_addr, rtnl_addr_put>>;
using NlRoute = std::unique_ptr<rtnl_route, NlDeleter<rtnl_route, rtnl_route_put>>;

std::string nl_error(const char* what, int err) {
  return std::string(what) + ": " + nl_geterror(err);
}

// Sets flags/MTU/MAC of the link `name`; each optional change only if given.
Expected<int, std::string> link_up(nl_sock* sk, const char* name, unsigned mtu, nl_addr* mac) {
  rtnl_link* raw = nullptr;
  int err = rtnl_link_get_kernel(sk, 0, name, &raw);
  if (err < 0) return unexpected(nl_error((std::string("cannot find link ") + name).c_str(), err));
  NlLink link(raw);
  NlLink change(rtnl_link_alloc());
  if (mtu) rtnl_link_set_mtu(change.get(), mtu);
  if (mac) rtnl_link_set_addr(change.get(), mac);
  rtnl_link_set_flags(change.get(), IFF_UP);
  err = rtnl_link_change(sk, link.get(), change.get(), 0);
  if (err < 0) return unexpected(nl_error((std::string("cannot configure link ") + name).c_str(), err));
  return rtnl_link_get_ifindex(link.get());
}

}  // namespace

Expected<UniqueFd, std::string> open_tap_here(const std::string& name, bool offload, bool multi_queue) {
  if (name.empty() || name.size() >= IFNAMSIZ)
    return unexpected("invalid tap name '" + name + "' (1.." + std::to_string(IFNAMSIZ - 1) + " characters)");
  int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    int e = errno;
    std::string msg = std::string("cannot open /dev/net/tun: ") + std::strerror(e);
    if (e == EACCES || e == EPERM) msg += " (is it mode 0666?)";
    if (e == ENOENT) msg += " (is the tun module loaded?)";
    return unexpected(msg);
  }
  UniqueFd tun(fd);
  ifreq ifr{};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0) | (multi_queue ? IFF_MULTI_QUEUE : 0);
  std::memcpy(ifr.ifr_name, name.c_str(), name.size());
  // EBUSY: another process still holds the tap. A netd that just exited may
  // still hold it for a moment (its io_uring is torn down asynchronously),
  // so a restart waits up to five seconds (as long as a published port's
  // handover; a loaded machine has taken over two) before giving up.
  int rc = -1;
  for (int attempt = 0; attempt < 50; ++attempt) {
    rc = ::ioctl(tun.get(), TUNSETIFF, &ifr);
    if (rc == 0 || errno != EBUSY) break;
    ::usleep(100 * 1000);
  }
  if (rc != 0) {
    int e = errno;
    std::string msg = "cannot attach tap " + name + ": " + std::strerror(e);
    if (e == EPERM) msg += " (no CAP_NET_ADMIN in the namespace, or the tap belongs to another user)";
    if (e == EBUSY) msg += " (another process is attached to it)";
    if (e == EINVAL)
      msg += multi_queue ? " (a non-tap or single-queue device of that name exists)"
                         : " (a non-tap device of that name exists, or a multi-queue tap)";
    return unexpected(msg);
  }
  if (offload) {
    // What netd can take from the guest: partial checksums and TCP
    // super-segments (the kernel then skips segmenting and checksumming).
    unsigned flags = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
    if (::ioctl(tun.get(), TUNSETOFFLOAD, flags) != 0) {
      return unexpected(std::string("cannot enable offloads on tap ") + name + ": " + std::strerror(errno));
    }
  }
  return tun;
}

namespace {
// Writes one per-interface IPv6 sysctl of the current network namespace;
// false if it cannot (no IPv6 in the kernel, read-only /proc/sys).
bool set_ipv6_conf(const std::string& ifname, const char* key, const char* value) {
  std::string path = "/proc/sys/net/ipv6/conf/" + ifname + "/" + key;
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, value, std::strlen(value)) == static_cast<ssize_t>(std::strlen(value));
  ::close(fd);
  return ok;
}
}  // namespace

namespace {
// Adds one address to the link; an address that is already there is fine.
Expected<void, std::string> add_address(nl_sock* sk, int ifindex, const TapAddress& a) {
  nl_addr* local = nullptr;
  if (nl_addr_parse(a.cidr.c_str(), AF_UNSPEC, &local) < 0 || nl_addr_get_prefixlen(local) == 0 ||
      (nl_addr_get_family(local) != AF_INET && nl_addr_get_family(local) != AF_INET6)) {
    if (local) nl_addr_put(local);
    return unexpected("invalid address " + a.cidr);
  }
  NlAddr owned(local);
  NlRtAddr addr(rtnl_addr_alloc());
  rtnl_addr_set_ifindex(addr.get(), ifindex);
  rtnl_addr_set_local(addr.get(), local);
  if (nl_addr_get_family(local) == AF_INET6) rtnl_addr_set_flags(addr.get(), IFA_F_NODAD);
  int err = rtnl_addr_add(sk, addr.get(), 0);
  if (err < 0 && err != -NLE_EXIST) return unexpected(nl_error(("cannot add address " + a.cidr).c_str(), err));
  return {};
}

// Adds dst via gw (gw null: on-link) on the link.
int add_route_raw(nl_sock* sk, int ifindex, nl_addr* dst, nl_addr* gw) {
  NlRoute route(rtnl_route_alloc());
  rtnl_route_set_family(route.get(), nl_addr_get_family(dst));
  rtnl_route_set_table(route.get(), RT_TABLE_MAIN);
  rtnl_route_set_dst(route.get(), dst);
  if (!gw) rtnl_route_set_scope(route.get(), RT_SCOPE_LINK);
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  rtnl_route_nh_set_ifindex(nh, ifindex);
  if (gw) rtnl_route_nh_set_gateway(nh, gw);
  rtnl_route_add_nexthop(route.get(), nh);  // the route owns nh now
  int err = rtnl_route_add(sk, route.get(), 0);
  return err == -NLE_EXIST ? 0 : err;
}

Expected<void, std::string> add_route(nl_sock* sk, int ifindex, const TapRoute& r) {
  nl_addr* dst = nullptr;
  if (nl_addr_parse(r.dst.c_str(), AF_UNSPEC, &dst) < 0) return unexpected("invalid route destination " + r.dst);
  NlAddr dst_owned(dst);
  NlAddr gw_owned;
  if (!r.gateway.empty()) {
    nl_addr* gw = nullptr;
    if (nl_addr_parse(r.gateway.c_str(), nl_addr_get_family(dst), &gw) < 0)
      return unexpected("invalid gateway " + r.gateway + " for " + r.dst);
    gw_owned.reset(gw);
  }
  std::string what = "cannot add route " + r.dst + (r.gateway.empty() ? "" : " via " + r.gateway);
  int err = add_route_raw(sk, ifindex, dst, gw_owned.get());
  if (err == -NLE_NOADDR || err == -NLE_INVAL || err == -NLE_FAILURE) {
    // The gateway is outside every subnet of the link: make it on-link
    // first (a host route), then try again.
    nl_addr* host = nl_addr_clone(gw_owned.get());
    if (!host) return unexpected(nl_error(what.c_str(), err));
    NlAddr host_owned(host);
    nl_addr_set_prefixlen(host, nl_addr_get_family(host) == AF_INET ? 32 : 128);
    int e2 = add_route_raw(sk, ifindex, host, nullptr);
    if (e2 < 0) return unexpected(nl_error(("cannot add an on-link route to gateway " + r.gateway).c_str(), e2));
    err = add_route_raw(sk, ifindex, dst, gw_owned.get());
  }
  if (err < 0) return unexpected(nl_error(what.c_str(), err));
  return {};
}
}  // namespace

Expected<void, std::string> configure_here(const TapOptions& o) {
  NlSock sk(nl_socket_alloc());
  if (!sk) return unexpected(std::string("libnl: out of memory"));
  int err = nl_connect(sk.get(), NETLINK_ROUTE);
  if (err < 0) return unexpected(nl_error("netlink", err));

  auto lo = link_up(sk.get(), "lo", 0, nullptr);
  if (!lo) return unexpected(lo.error());

  NlAddr mac;
  if (o.mac) {
    nl_addr* m = nullptr;
    if (nl_addr_parse(o.mac->c_str(), AF_LLC, &m) < 0) return unexpected("invalid MAC address " + *o.mac);
    mac.reset(m);
  }
  // Before the link comes up, so its first router solicitation counts (or,
  // for static addresses, so no duplicate address detection delays them).
  if (o.ipv6 == TapOptions::Ipv6::kSlaac && set_ipv6_conf(o.name, "disable_ipv6", "0")) {
    set_ipv6_conf(o.name, "accept_ra", "2");
  } else if (o.ipv6 == TapOptions::Ipv6::kStatic && set_ipv6_conf(o.name, "disable_ipv6", "0")) {
    set_ipv6_conf(o.name, "accept_ra", "0");
    set_ipv6_conf(o.name, "accept_dad", "0");
  }
  auto ifindex = link_up(sk.get(), o.name.c_str(), o.mtu, mac.get());
  if (!ifindex) return unexpected(ifindex.error());
  for (const auto& a : o.addresses) {
    if (auto r = add_address(sk.get(), *ifindex, a); !r) return r;
  }
  for (const auto& rt : o.routes) {
    if (auto r = add_route(sk.get(), *ifindex, rt); !r) return r;
  }
  return {};
}

Expected<std::vector<UniqueFd>, std::string> open_tap_queues(const NsTarget& target, const TapOptions& opts) {
  if (opts.queues < 1 || opts.queues > kMaxTapQueues)
    return unexpected("invalid number of tap queues " + std::to_string(opts.queues) + " (1.." +
                      std::to_string(kMaxTapQueues) + ")");
  auto fds = run_in_netns(target, [&]() -> NsChildResult {
    std::vector<int> out;
    std::vector<UniqueFd> held;  // closed if a later queue fails
    for (unsigned q = 0; q < opts.queues; ++q) {
      auto tap = open_tap_here(opts.name, opts.offload, opts.queues > 1);
      if (!tap) return unexpected(tap.error());
      held.push_back(std::move(*tap));
    }
    if (opts.configure) {
      auto c = configure_here(opts);
      if (!c) return unexpected(c.error());
    }
    for (auto& fd : held) out.push_back(fd.release());  // the child exits right after sending
    return out;
  });
  if (!fds) return unexpected(fds.error());
  if (fds->size() != opts.queues) return unexpected(std::string("namespace helper returned no tap fd"));
  return std::move(*fds);
}

Expected<UniqueFd, std::string> open_tap(const NsTarget& target, const TapOptions& opts) {
  TapOptions one = opts;
  one.queues = 1;
  auto fds = open_tap_queues(target, one);
  if (!fds) return unexpected(fds.error());
  return std::move((*fds)[0]);
}

}  // namespace netd::tap
