// Socket addresses of the data plane's host sockets, from and to netd's
// address type (tap/wire/types.h). The only place tap/ fills or reads a
// sockaddr_in/sockaddr_in6.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>

#include "tap/actions.h"
#include "tap/wire/types.h"

namespace netd::tap {

// A socket address and its length, ready for connect/bind/sendto.
struct SockAddr {
  sockaddr_storage ss{};
  socklen_t len = 0;
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&ss); }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&ss); }
  int family() const { return ss.ss_family; }
};

// `a`:port in a's family (AF_INET for an IPv4 address, else AF_INET6).
SockAddr to_sockaddr(const wire::IpAddr& a, uint16_t port);
// A socket address as netd's address type (a v4-mapped IPv6 address is
// IPv4 already), or nullopt for another family.
std::optional<HostPeer> peer_from(const sockaddr_storage& ss);
// The peer of a connected socket, or nullopt.
std::optional<HostPeer> peer_of(int fd);
// "ADDR:PORT", "[ADDR]:PORT" for IPv6.
std::string to_string(const HostPeer& p);

}  // namespace netd::tap
