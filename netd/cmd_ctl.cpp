// `netd ctl`: a small client for the control API socket (netd's own, or
// `netd slirp4netns --api-socket`). Sends one JSON request, shuts down its
// write side, prints the reply. Exit 0 for {"return":...}, 1 for
// {"error":...}, 2 for bad arguments or when the socket cannot be reached.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "common/unique_fd.h"
#include "netd/commands.h"

namespace netd::cmd {

int ctl(int argc, char** argv) {
  CLI::App app{"", "netd ctl"};
  app.description(
      "Send one JSON request to a netd API socket and print the reply. Requests:\n"
      "  {\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"tcp\",\"host_addr\":\"0.0.0.0\",\n"
      "     \"host_port\":8080,\"guest_addr\":\"10.0.2.100\",\"guest_port\":80}}\n"
      "  {\"execute\":\"list_hostfwd\"}\n"
      "  {\"execute\":\"remove_hostfwd\",\"arguments\":{\"id\":1}}\n"
      "  {\"execute\":\"list_flows\"}    {\"execute\":\"get_counters\"}");
  std::string path, request;
  unsigned timeout = 10;
  app.add_option("-s,--socket", path, "the API socket")->required();
  app.add_option("request", request, "the JSON request")->required();
  app.add_option("--timeout", timeout, "seconds to wait for the reply")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) {
    std::fprintf(stderr, "netd ctl: socket path too long: %s\n", path.c_str());
    return 2;
  }
  std::memcpy(sa.sun_path, path.c_str(), path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    std::fprintf(stderr, "netd ctl: cannot connect to %s: %s\n", path.c_str(), std::strerror(errno));
    return 2;
  }
  timeval tv{static_cast<time_t>(timeout), 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  size_t off = 0;
  while (off < request.size()) {
    ssize_t n = ::send(fd.get(), request.data() + off, request.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "netd ctl: send: %s\n", std::strerror(errno));
      return 2;
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
      std::fprintf(stderr, "netd ctl: no reply: %s\n", std::strerror(errno));
      return 2;
    }
    reply.append(buf, static_cast<size_t>(n));
  }
  std::printf("%s\n", reply.c_str());
  return reply.rfind("{\"return\"", 0) == 0 ? 0 : 1;
}

}  // namespace netd::cmd
