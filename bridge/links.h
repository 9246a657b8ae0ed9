// Links, addresses and routes through libnl3, from outside the namespaces.
//
// Theory of operation: a RouteSocket is a NETLINK_ROUTE socket opened by a
// run_in_netns() child inside a target namespace and handed back; netd uses
// it from its own namespaces. Netlink checks capabilities against both the
// socket's opener and the sender, and netd (the sender) owns every user
// namespace involved, so a socket opened inside the rootless netns can create
// a veth pair whose peer lands in a container netns owned by a *different*
// user namespace (IFLA_NET_NS_FD of the peer; docs/bridge-networks.md). The container
// side (address, lo/eth0 up, default route) uses a second socket opened in
// the container's namespaces. Only this file builds netlink link messages.
// Every function returns an error line naming the interface and the cause.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/expected.h"
#include "common/net/ip.h"
#include "common/netns.h"
#include "common/nl_ptr.h"

namespace netd::bridge {

class RouteSocket {
 public:
  // Opens a NETLINK_ROUTE socket inside `target` (user + net namespaces).
  static Expected<RouteSocket, std::string> open_in(const NsTarget& target);

  RouteSocket(RouteSocket&&) noexcept = default;
  RouteSocket& operator=(RouteSocket&&) noexcept = default;

  // Names of every link in the socket's namespace.
  Expected<std::vector<std::string>, std::string> link_names();
  // ifindex of `name`, or 0 when there is no such link.
  int index_of(const std::string& name);
  // Creates bridge `name` unless present, gives it `gateway`/prefix, sets it up.
  Expected<void, std::string> ensure_bridge(const std::string& name, net::Ipv4Addr gateway, int prefix);
  // Creates veth `host_name` (attached to bridge `master_index`, up) whose peer
  // is created directly in the namespace `peer_netns_fd` as `peer_name`.
  Expected<void, std::string> create_veth(const std::string& host_name, int master_index,
                                          const std::string& peer_name, int peer_netns_fd);
  // Deletes link `name`; a missing link is not an error.
  Expected<void, std::string> delete_link(const std::string& name);
  // Sets link `name` up.
  Expected<void, std::string> set_up(const std::string& name);
  // Adds `addr`/prefix to link `name` (already present is fine).
  Expected<void, std::string> add_address(const std::string& name, net::Ipv4Addr addr, int prefix);
  // Adds a default route via `gateway` on link `name`.
  Expected<void, std::string> add_default_route(const std::string& name, net::Ipv4Addr gateway);
  // The same for IPv6. Addresses skip duplicate address detection (netd
  // hands them out; a tentative gateway address could not be bound to).
  Expected<void, std::string> add_address(const std::string& name, const net::Ipv6Addr& addr, int prefix);
  Expected<void, std::string> add_default_route(const std::string& name, const net::Ipv6Addr& gateway);

 private:
  explicit RouteSocket(NlSock sk) : sk_(std::move(sk)) {}
  Expected<void, std::string> add_addr(const std::string& name, nl_addr* local, const std::string& text, bool nodad);
  Expected<void, std::string> add_default(const std::string& name, int family, nl_addr* dst, nl_addr* gw,
                                          const std::string& text);
  NlSock sk_;  // closes the socket's fd with it
};

// Writes sysctl `path` (under /proc/sys) inside `target`. Returns an error line.
Expected<void, std::string> write_sysctl_in(const NsTarget& target, const std::string& path,
                                            const std::string& value);

}  // namespace netd::bridge
