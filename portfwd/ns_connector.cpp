#include "portfwd/ns_connector.h"

#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "common/fd_passing.h"
#include "common/net/endpoint.h"

namespace netd::portfwd {
namespace {

// One request on the helper channel (a SEQPACKET message of exactly this size).
struct Request {
  uint8_t proto;  // 0 tcp, 1 udp
  uint16_t port;
  uint8_t addr[16];  // a net::IpAddr's bytes (IPv4 as ::ffff:a.b.c.d)
};

[[noreturn]] void serve(int chan) {
  // Keep nothing of the parent's but stdio and the channel: a helper holding a
  // listening socket, a tap or a ready pipe would outlive or confuse its owner.
  if (chan != 3) {
    ::dup2(chan, 3);
    chan = 3;
  }
  ::syscall(SYS_close_range, 4u, UINT_MAX, 0u);
  for (;;) {
    Request req{};
    ssize_t n = ::recv(chan, &req, sizeof req, 0);
    if (n == 0) ::_exit(0);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::_exit(1);
    }
    if (n != sizeof req) {
      (void)send_fds(chan, {}, "Emalformed request");
      continue;
    }
    net::IpAddr a;
    std::memcpy(a.b.data(), req.addr, 16);
    net::SockAddr sa = net::to_sockaddr(a, req.port);
    int type = (req.proto == 1 ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC;
    int fd = ::socket(sa.family(), type, 0);
    if (fd < 0) {
      (void)send_fds(chan, {}, std::string("Esocket: ") + std::strerror(errno));
      continue;
    }
    if (::connect(fd, sa.get(), sa.len) != 0 && errno != EINPROGRESS) {
      int e = errno;
      ::close(fd);
      (void)send_fds(chan, {}, std::string("Econnect: ") + std::strerror(e));
      continue;
    }
    (void)send_fds(chan, {fd}, "");
    ::close(fd);
  }
}

}  // namespace

Expected<std::unique_ptr<NsConnector>, std::string> NsConnector::start(const NsTarget& target) {
  auto fds = run_in_netns(target, []() -> NsChildResult {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
      return unexpected(std::string("socketpair: ") + std::strerror(errno));
    pid_t helper = ::fork();
    if (helper < 0) return unexpected(std::string("fork: ") + std::strerror(errno));
    if (helper == 0) {
      ::close(sv[0]);
      serve(sv[1]);
    }
    ::close(sv[1]);
    return std::vector<int>{sv[0]};
  });
  if (!fds) return unexpected(fds.error());
  if (fds->size() != 1) return unexpected(std::string("namespace helper returned no channel"));
  UniqueFd chan = std::move((*fds)[0]);
  // A wedged helper must not hang the caller's loop for ever.
  timeval tv{5, 0};
  ::setsockopt(chan.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return std::unique_ptr<NsConnector>(new NsConnector(std::move(chan)));
}

Expected<UniqueFd, std::string> NsConnector::connect(Proto proto, const net::IpAddr& addr, uint16_t port) {
  Request req{};
  req.proto = proto == Proto::Udp ? 1 : 0;
  req.port = port;
  std::memcpy(req.addr, addr.b.data(), 16);
  std::lock_guard<std::mutex> lock(mu_);
  if (::send(chan_.get(), &req, sizeof req, MSG_NOSIGNAL) != sizeof req)
    return unexpected(std::string("namespace helper is gone: ") + std::strerror(errno));
  auto got = recv_fds(chan_.get(), 1);
  if (!got) return unexpected(std::string("namespace helper did not answer: ") + std::strerror(-got.error()));
  if (!got->text.empty() && got->text[0] == 'E') return unexpected(got->text.substr(1));
  if (got->fds.size() != 1) return unexpected(std::string("namespace helper sent no socket"));
  return std::move(got->fds[0]);
}

}  // namespace netd::portfwd
