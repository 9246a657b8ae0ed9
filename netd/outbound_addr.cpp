#include "netd/outbound_addr.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/net/endpoint.h"
#include "common/unique_fd.h"

namespace netd {
namespace {

const char* option_name(net::IpFamily f) { return f == net::IpFamily::V4 ? "--outbound-addr" : "--outbound-addr6"; }
const char* family_name(net::IpFamily f) { return f == net::IpFamily::V4 ? "IPv4" : "IPv6"; }

}  // namespace

Expected<OutboundSpec, std::string> classify_outbound(std::string_view text, net::IpFamily family) {
  const std::string opt = option_name(family);
  if (auto a = net::IpAddr::parse(text)) {
    if (a->family() != family)
      return unexpected(opt + ": '" + std::string(text) + "' is an " + family_name(a->family()) + " address (use " +
                        option_name(a->family()) + ")");
    if (a->is_unspecified()) return unexpected(opt + ": '" + std::string(text) + "' is not a source address");
    return OutboundSpec{*a};
  }
  // Not an address: an interface name, with the kernel's rules for one.
  if (text.empty() || text.size() >= IFNAMSIZ || text == "." || text == ".." ||
      text.find_first_of("/ \t\n\r\v\f") != std::string_view::npos)
    return unexpected(opt + " must be an " + family_name(family) + " address or an interface name: '" +
                      std::string(text) + "'");
  return OutboundSpec{std::string(text)};
}

Expected<net::IpAddr, std::string> resolve_outbound(const OutboundSpec& spec, net::IpFamily family,
                                                     const std::vector<InterfaceAddress>& addrs) {
  if (const auto* a = std::get_if<net::IpAddr>(&spec)) return *a;
  const std::string& name = std::get<std::string>(spec);
  bool found = false, link_local_only = false;
  for (const auto& ia : addrs) {
    if (ia.ifname != name) continue;
    found = true;
    if (ia.addr.family() != family) continue;
    if (family == net::IpFamily::V6 && ia.addr.v6().is_link_local()) {
      link_local_only = true;
      continue;
    }
    return ia.addr;
  }
  const std::string opt = option_name(family);
  if (link_local_only)
    return unexpected(opt + ": interface " + name +
                      " has only link-local IPv6 addresses (a link-local source cannot reach other links)");
  if (!found) return unexpected(opt + ": no interface or address named '" + name + "'");
  return unexpected(opt + ": interface " + name + " has no " + family_name(family) + " address");
}

std::vector<InterfaceAddress> host_interface_addresses() {
  std::vector<InterfaceAddress> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || !i->ifa_name) continue;
    if (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6) continue;
    if (auto e = net::endpoint_from(i->ifa_addr)) out.push_back({i->ifa_name, e->addr});
  }
  ::freeifaddrs(list);
  return out;
}

Expected<void, std::string> check_local_address(const net::IpAddr& addr) {
  const std::string opt = option_name(addr.family());
  const net::SockAddr sa = net::to_sockaddr(addr, 0);
  UniqueFd s(::socket(sa.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s) return unexpected(opt + ": cannot open a socket: " + std::string(std::strerror(errno)));
  if (::bind(s.get(), sa.get(), sa.len) != 0) {
    int e = errno;
    return unexpected(opt + ": cannot use " + addr.to_string() + " as a source address: " + std::strerror(e) +
                      (e == EADDRNOTAVAIL ? " (not an address of this host, or still tentative)" : ""));
  }
  return {};
}

}  // namespace netd
