#include "netd/pesto_server.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "common/log.h"
#include "portfwd/pesto_wire.h"

namespace netd {

namespace pesto = portfwd::pesto;
using Clock = std::chrono::steady_clock;

namespace {

std::string socket_error(const std::string& path, const std::string& why) {
  return "cannot use configuration socket " + path + ": " + why;
}

// Whether a server answers at `sa` (a live socket must not be replaced).
bool server_answers(const sockaddr_un& sa) {
  UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!probe) return false;
  int rc = ::connect(probe.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
  return rc == 0 || errno == EAGAIN;  // EAGAIN: a listener with a full backlog
}

void log_tables(const portfwd::FwdTables& t) {
  for (const auto& pif : pesto::announce(t)) {
    LOG_INFO("pesto: forwarding rules for %s: %zu", pif.name.c_str(), pif.table.rules.size());
    for (const auto& r : pif.table.rules) LOG_INFO("pesto:     %s", r.to_string().c_str());
  }
}

}  // namespace

struct PestoServer::Impl {
  PestoServerOptions opts;
  UniqueFd listener;
  UniqueFd wake;  // eventfd: stop() writes, the thread polls it
  std::thread thread;
  std::once_flag stop_once;

  mutable std::mutex mu;
  portfwd::FwdTables current;  // guarded by mu
  std::atomic<uint64_t> applied{0};
  std::atomic<uint64_t> rejected{0};

  enum class Wait { Ready, Timeout, Stop };

  // Waits until `fd` has `events`, the deadline passes or stop() is called.
  Wait wait(int fd, short events, Clock::time_point deadline) {
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return Wait::Timeout;
      pollfd p[2] = {{fd, events, 0}, {wake.get(), POLLIN, 0}};
      int n = ::poll(p, 2, static_cast<int>(std::min<long long>(left, 1000)));
      if (n < 0 && errno != EINTR) return Wait::Stop;
      if (n <= 0) continue;
      if (p[1].revents) return Wait::Stop;
      if (p[0].revents) return Wait::Ready;
    }
  }

  void reject(pid_t pid, const char* fmt_what, const std::string& detail) {
    rejected.fetch_add(1);
    LOG_WARN("pesto: client (pid %d): %s%s; nothing changed", static_cast<int>(pid), fmt_what, detail.c_str());
  }

  // Sends everything in `out`; false if the client went away, stalled past
  // the deadline or stop() was called.
  bool send_all(int fd, const std::vector<std::byte>& out, Clock::time_point deadline, pid_t pid) {
    size_t off = 0;
    while (off < out.size()) {
      ssize_t n = ::send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        off += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        LOG_DEBUG("pesto: client (pid %d) went away before reading the tables: %s", static_cast<int>(pid),
                  std::strerror(errno));
        return false;
      }
      Wait w = wait(fd, POLLOUT, deadline);
      if (w == Wait::Timeout) reject(pid, "did not read the tables in time", "");
      if (w != Wait::Ready) return false;
    }
    return true;
  }

  void serve(UniqueFd client) {
    const int fd = client.get();
    const auto deadline = Clock::now() + opts.client_timeout;
    ucred cred{};
    socklen_t cred_len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) != 0) cred.pid = 0;
    LOG_INFO("pesto: configuration client connected (pid %d)", static_cast<int>(cred.pid));

    portfwd::FwdTables snapshot = tables();
    if (!send_all(fd, pesto::encode_server_message(pesto::announce(snapshot)), deadline, cred.pid)) return;

    // The client's update: read until the framing says it is all here, so a
    // client that trickles bytes costs one cheap scan per read.
    std::vector<std::byte> buf(pesto::kMaxClientMessage);
    size_t have = 0;
    for (;;) {
      auto framed = pesto::frame_client_message(std::span(buf.data(), have));
      if (framed != pesto::DecodeStatus::Truncated) break;
      if (have == buf.size()) return reject(cred.pid, "sent an update larger than the protocol allows", "");
      Wait w = wait(fd, POLLIN, deadline);
      if (w == Wait::Stop) return;
      if (w == Wait::Timeout)
        return reject(cred.pid, "sent no complete update in time",
                      " (" + std::to_string(opts.client_timeout.count()) + " ms, " + std::to_string(have) +
                          " bytes received)");
      ssize_t n = ::recv(fd, buf.data() + have, buf.size() - have, MSG_DONTWAIT);
      if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
      if (n < 0) return reject(cred.pid, "connection failed: ", std::strerror(errno));
      if (n == 0) {
        if (have == 0) {
          LOG_INFO("pesto: client (pid %d) closed without an update", static_cast<int>(cred.pid));
          return;
        }
        return reject(cred.pid, "closed in the middle of its update", " (" + std::to_string(have) + " bytes)");
      }
      have += static_cast<size_t>(n);
    }
    auto update = pesto::decode_client_message(std::span(buf.data(), have));
    if (update.status != pesto::DecodeStatus::Complete)
      return reject(cred.pid, "sent a malformed update: ", update.error);
    auto next = pesto::tables_from_update(update.value, snapshot);
    if (!next) return reject(cred.pid, "update refused: ", next.error());
    auto applied_ok = opts.apply(*next);
    if (!applied_ok) return reject(cred.pid, "could not apply the new rules: ", applied_ok.error());
    {
      std::lock_guard lock(mu);
      current = *next;
    }
    applied.fetch_add(1);
    LOG_INFO("pesto: client (pid %d) replaced the forwarding tables", static_cast<int>(cred.pid));
    log_tables(*next);
  }

  void run() {
    for (;;) {
      pollfd p[2] = {{listener.get(), POLLIN, 0}, {wake.get(), POLLIN, 0}};
      int n = ::poll(p, 2, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        LOG_ERROR("pesto: poll on the configuration socket failed: %s; no more updates", std::strerror(errno));
        return;
      }
      if (p[1].revents) return;
      if (!p[0].revents) continue;
      int fd = ::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) {
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
          LOG_WARN("pesto: accept on the configuration socket failed: %s", std::strerror(errno));
          // e.g. out of fds: wait a little rather than spin.
          pollfd w{wake.get(), POLLIN, 0};
          if (::poll(&w, 1, 100) > 0) return;
        }
        continue;
      }
      serve(UniqueFd(fd));
    }
  }

  portfwd::FwdTables tables() const {
    std::lock_guard lock(mu);
    return current;
  }
};

PestoServer::PestoServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PestoServer::~PestoServer() { stop(); }

void PestoServer::stop() {
  std::call_once(impl_->stop_once, [this] {
    uint64_t one = 1;
    if (impl_->thread.joinable()) {
      [[maybe_unused]] ssize_t w = ::write(impl_->wake.get(), &one, sizeof one);
      impl_->thread.join();
    }
    impl_->listener.reset();
    if (impl_->opts.remove_socket) ::unlink(impl_->opts.path.c_str());
  });
}

portfwd::FwdTables PestoServer::tables() const { return impl_->tables(); }
uint64_t PestoServer::updates_applied() const { return impl_->applied.load(); }
uint64_t PestoServer::updates_rejected() const { return impl_->rejected.load(); }

Expected<UniqueFd, std::string> PestoServer::bind(const std::string& path) {
  sockaddr_un sa{};
  if (path.empty()) return unexpected(std::string("empty configuration socket path"));
  if (path.size() >= sizeof sa.sun_path)
    return unexpected(socket_error(path, "path too long (at most " + std::to_string(sizeof sa.sun_path - 1) +
                                             " bytes)"));
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path.data(), path.size());
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return unexpected(socket_error(path, "it exists and is not a socket"));
    if (server_answers(sa)) return unexpected(socket_error(path, "it is in use by a running server"));
    ::unlink(path.c_str());  // a stale socket of an earlier run
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return unexpected(socket_error(path, std::strerror(errno)));
  mode_t old = ::umask(0177);  // born 0600
  int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  int e = errno;
  ::umask(old);
  if (rc != 0) return unexpected(socket_error(path, std::strerror(e)));
  if (::listen(fd.get(), 16) != 0) return unexpected(socket_error(path, std::strerror(errno)));
  return fd;
}

Expected<std::unique_ptr<PestoServer>, std::string> PestoServer::start(PestoServerOptions opts) {
  if (!opts.apply) return unexpected(std::string("pesto server: no apply callback"));
  UniqueFd listener(opts.listener);
  opts.listener = -1;
  if (!listener) {
    auto fd = bind(opts.path);
    if (!fd) return unexpected(fd.error());
    listener = std::move(*fd);
  }
  // The accept loop polls; the listener must not block in accept4.
  int flags = ::fcntl(listener.get(), F_GETFL);
  if (flags < 0 || ::fcntl(listener.get(), F_SETFL, flags | O_NONBLOCK) != 0)
    return unexpected(socket_error(opts.path, std::strerror(errno)));
  UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake) return unexpected(std::string("pesto server: eventfd: ") + std::strerror(errno));

  auto impl = std::make_unique<Impl>();
  impl->current = opts.tables;
  impl->opts = std::move(opts);
  impl->listener = std::move(listener);
  impl->wake = std::move(wake);
  // The thread is born with every signal blocked: signals stay with the
  // threads that handle them.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->run(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return std::unique_ptr<PestoServer>(new PestoServer(std::move(impl)));
}

}  // namespace netd
