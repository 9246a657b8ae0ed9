// Endpoints (address + port) and the socket addresses made from them: the
// only place netd fills or reads a sockaddr_in / sockaddr_in6.
//
// Theory of operation: code above this file holds an Endpoint (a value of
// ip.h's types); it becomes a SockAddr just before bind/connect/sendto and
// comes back from accept/recvfrom/getpeername through endpoint_from. The
// family of the socket address follows the address: AF_INET for an IPv4
// address, AF_INET6 otherwise. A v4-mapped peer of a dual-stack socket comes
// back as the IPv4 address it is (see ip.h).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>

#include "common/net/ip.h"

namespace netd::net {

struct Endpoint {
  IpAddr addr;
  uint16_t port = 0;
  bool operator==(const Endpoint&) const = default;
};

// A socket address and its length, ready for connect/bind/sendto.
struct SockAddr {
  sockaddr_storage ss{};
  socklen_t len = 0;
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&ss); }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&ss); }
  int family() const { return ss.ss_family; }
};

// `a`:port in a's family.
SockAddr to_sockaddr(const IpAddr& a, uint16_t port);
inline SockAddr to_sockaddr(const Endpoint& e) { return to_sockaddr(e.addr, e.port); }
// The endpoint a socket address names, or nullopt for a family other than
// AF_INET / AF_INET6.
std::optional<Endpoint> endpoint_from(const sockaddr* sa);
inline std::optional<Endpoint> endpoint_from(const sockaddr_storage& ss) {
  return endpoint_from(reinterpret_cast<const sockaddr*>(&ss));
}
// The peer of a connected socket, or nullopt.
std::optional<Endpoint> peer_of(int fd);
// "ADDR:PORT", "[ADDR]:PORT" for IPv6.
std::string to_string(const Endpoint& e);

}  // namespace netd::net
