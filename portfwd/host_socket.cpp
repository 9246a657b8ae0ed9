#include "portfwd/host_socket.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "common/net/endpoint.h"

namespace netd::portfwd {

Expected<UniqueFd, std::string> open_host_socket(const net::IpAddr& addr, uint16_t port, Proto proto,
                                                 bool nonblocking, int unpriv_start) {
  int type = (proto == Proto::Udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0);
  net::SockAddr sa = net::to_sockaddr(addr, port);
  UniqueFd fd(::socket(sa.family(), type, 0));
  if (!fd) return unexpected(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  if (proto == Proto::Tcp) ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (addr.is_v6()) ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(fd.get(), sa.get(), sa.len) != 0) {
    int e = errno;
    auto message = bind_error_message(addr, port, proto, e, unpriv_start);
    errno = e;  // (the header's promise: callers tell EADDRINUSE apart)
    return unexpected(message);
  }
  if (proto == Proto::Tcp && ::listen(fd.get(), 1024) != 0)
    return unexpected(std::string("listen: ") + std::strerror(errno));
  return fd;
}

}  // namespace netd::portfwd
