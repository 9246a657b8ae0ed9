// Ownership of libnl3 objects: one unique_ptr type per kind of object, each
// dropping its reference with the libnl function made for it. The one home of
// these wrappers (bridge/links.cpp and tap/tap_device.cpp build netlink
// messages with them).
//
// libnl objects are reference counted: *_alloc() and *_get_kernel() hand the
// caller one reference, which the matching *_put() (nl_socket_free for a
// socket, nl_cache_free for a cache) gives back. Wrapping that reference as
// soon as it arrives means every early return releases it.
#pragma once

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include <memory>

namespace netd {

template <class T, void (*Release)(T*)>
struct NlRelease {
  void operator()(T* p) const {
    if (p) Release(p);
  }
};

using NlSock = std::unique_ptr<nl_sock, NlRelease<nl_sock, nl_socket_free>>;  // also closes its fd
using NlCache = std::unique_ptr<nl_cache, NlRelease<nl_cache, nl_cache_free>>;
using NlLink = std::unique_ptr<rtnl_link, NlRelease<rtnl_link, rtnl_link_put>>;
using NlAddr = std::unique_ptr<nl_addr, NlRelease<nl_addr, nl_addr_put>>;
using NlRtAddr = std::unique_ptr<rtnl_addr, NlRelease<rtnl_addr, rtnl_addr_put>>;
using NlRoute = std::unique_ptr<rtnl_route, NlRelease<rtnl_route, rtnl_route_put>>;

}  // namespace netd
