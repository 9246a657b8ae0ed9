#include "portfwd/api_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/unique_fd.h"

namespace netd::portfwd {

Expected<std::string, std::string> api_call(const std::string& path, std::string_view request,
                                            unsigned timeout_seconds) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) return unexpected("socket path too long: " + path);
  std::memcpy(sa.sun_path, path.c_str(), path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
    return unexpected("cannot connect to " + path + ": " + std::strerror(errno));
  timeval tv{static_cast<time_t>(timeout_seconds), 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  size_t off = 0;
  while (off < request.size()) {
    ssize_t n = ::send(fd.get(), request.data() + off, request.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return unexpected("cannot send to " + path + ": " + std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
  ::shutdown(fd.get(), SHUT_WR);
  std::string reply;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return unexpected("no reply from " + path + ": " + std::strerror(errno));
    }
    reply.append(buf, static_cast<size_t>(n));
  }
  return reply;
}

}  // namespace netd::portfwd
