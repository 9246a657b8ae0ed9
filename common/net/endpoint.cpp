// Conversions between endpoints and socket addresses. See endpoint.h.
#include "common/net/endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace netd::net {

SockAddr to_sockaddr(const IpAddr& a, uint16_t port) {
  SockAddr s;
  if (a.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&s.ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    sin->sin_addr.s_addr = htonl(a.v4().v);
    s.len = sizeof(sockaddr_in);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&s.ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    std::memcpy(sin6->sin6_addr.s6_addr, a.b.data(), 16);
    s.len = sizeof(sockaddr_in6);
  }
  return s;
}

std::optional<Endpoint> endpoint_from(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) {
    sockaddr_in sin;
    std::memcpy(&sin, sa, sizeof sin);
    return Endpoint{IpAddr(Ipv4Addr{ntohl(sin.sin_addr.s_addr)}), ntohs(sin.sin_port)};
  }
  if (sa->sa_family == AF_INET6) {
    sockaddr_in6 sin6;
    std::memcpy(&sin6, sa, sizeof sin6);
    Ipv6Addr a;
    std::memcpy(a.b.data(), sin6.sin6_addr.s6_addr, 16);
    return Endpoint{IpAddr(a), ntohs(sin6.sin6_port)};
  }
  return std::nullopt;
}

std::optional<Endpoint> peer_of(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return std::nullopt;
  return endpoint_from(ss);
}

std::string to_string(const Endpoint& e) {
  // Appended piece by piece: gcc 12 at -O3 warns (-Wrestrict, a known false
  // positive) about "[" + std::string.
  std::string out;
  if (e.addr.is_v6()) out += '[';
  out += e.addr.to_string();
  if (e.addr.is_v6()) out += ']';
  out += ':';
  out += std::to_string(e.port);
  return out;
}

}  // namespace netd::net
