// Socket addresses of the data plane's host sockets. The conversions are
// common/net/endpoint.h's (the one place netd fills or reads a sockaddr);
// tap/ uses them under these names.
#pragma once

#include <sys/socket.h>

#include <optional>

#include "common/net/endpoint.h"
#include "tap/actions.h"

namespace netd::tap {

using net::peer_of;
using net::SockAddr;
using net::to_sockaddr;
using net::to_string;

// A socket address as a host peer (a v4-mapped IPv6 address is IPv4
// already), or nullopt for another family.
inline std::optional<HostPeer> peer_from(const sockaddr_storage& ss) { return net::endpoint_from(ss); }

}  // namespace netd::tap
