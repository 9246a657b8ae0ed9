#include "tap/sockaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace netd::tap {

SockAddr to_sockaddr(const wire::IpAddr& a, uint16_t port) {
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

std::optional<HostPeer> peer_from(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&ss);
    return HostPeer{wire::IpAddr(wire::Ipv4Addr{ntohl(sin->sin_addr.s_addr)}), ntohs(sin->sin_port)};
  }
  if (ss.ss_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    wire::Ipv6Addr a;
    std::memcpy(a.b.data(), sin6->sin6_addr.s6_addr, 16);
    return HostPeer{wire::IpAddr(a), ntohs(sin6->sin6_port)};
  }
  return std::nullopt;
}

std::optional<HostPeer> peer_of(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return std::nullopt;
  return peer_from(ss);
}

std::string to_string(const HostPeer& p) {
  // Appended piece by piece: gcc 12 at -O3 warns (-Wrestrict, a known false
  // positive) about "[" + std::string.
  std::string out;
  if (p.addr.is_v6()) out += '[';
  out += p.addr.to_string();
  if (p.addr.is_v6()) out += ']';
  out += ':';
  out += std::to_string(p.port);
  return out;
}

}  // namespace netd::tap
