#include "common/lifecycle_watch.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace netd {

namespace {

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

bool contains(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }

}  // namespace

LifecycleWatch::LifecycleWatch(loop::EventLoop& loop, LifecycleOptions opts, std::function<void()> on_stop,
                               std::function<void(int)> on_signal)
    : Handler(loop), opts_(std::move(opts)), on_stop_(std::move(on_stop)), on_signal_(std::move(on_signal)) {}

Expected<std::unique_ptr<LifecycleWatch>, std::string> LifecycleWatch::start(loop::EventLoop& loop,
                                                                             LifecycleOptions opts,
                                                                             std::function<void()> on_stop,
                                                                             std::function<void(int)> on_signal) {
  std::unique_ptr<LifecycleWatch> w(
      new LifecycleWatch(loop, std::move(opts), std::move(on_stop), std::move(on_signal)));
  if (auto r = w->open_all(); !r) return unexpected(r.error());
  if (w->signal_fd_) w->arm_signal();
  if (w->pid_fd_) w->loop().poll(w->tag(Op::PidExit), w->pid_fd_.get(), POLLIN);
  if (w->path_watch_) w->arm_path();
  if (w->opts_.exit_fd >= 0) w->arm_exit_fd();
  return w;
}

Expected<void, std::string> LifecycleWatch::open_all() {
  ::signal(SIGPIPE, SIG_IGN);
  if (!opts_.stop_signals.empty() || !opts_.other_signals.empty()) {
    sigset_t mask;
    sigemptyset(&mask);
    for (int sig : opts_.stop_signals) sigaddset(&mask, sig);
    for (int sig : opts_.other_signals) sigaddset(&mask, sig);
    ::pthread_sigmask(SIG_BLOCK, &mask, nullptr);
    signal_fd_.reset(::signalfd(-1, &mask, SFD_CLOEXEC));
    if (!signal_fd_) return unexpected(std::string("signalfd: ") + std::strerror(errno));
  }
  if (opts_.pid) {
    pid_fd_.reset(pidfd_open(*opts_.pid));
    if (!pid_fd_) return unexpected("cannot watch pid " + std::to_string(*opts_.pid) + ": " + std::strerror(errno));
  }
  if (!opts_.path.empty()) return watch_path();
  return {};
}

// Watches the directory of the path for the path's removal or rename.
Expected<void, std::string> LifecycleWatch::watch_path() {
  const std::string& path = opts_.path;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return unexpected("cannot stat " + path + ": " + std::strerror(errno));
  auto slash = path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  watched_name_ = slash == std::string::npos ? path : path.substr(slash + 1);
  path_watch_.reset(::inotify_init1(IN_CLOEXEC));
  if (!path_watch_) return unexpected(std::string("inotify: ") + std::strerror(errno));
  if (::inotify_add_watch(path_watch_.get(), dir.c_str(),
                          IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT | IN_ONLYDIR) < 0)
    return unexpected("cannot watch " + dir + " (for " + path + "): " + std::strerror(errno));
  return {};
}

void LifecycleWatch::arm_signal() { loop().read(tag(Op::Signal), signal_fd_.get(), &siginfo_, sizeof siginfo_); }
void LifecycleWatch::arm_path() {
  loop().read(tag(Op::PathEvent), path_watch_.get(), path_events_, sizeof path_events_);
}
void LifecycleWatch::arm_exit_fd() { loop().poll(tag(Op::ExitFdReady), opts_.exit_fd, POLLIN | POLLRDHUP); }

void LifecycleWatch::stop(const std::string& why) {
  if (stopped_) return;
  stopped_ = true;
  LOG_INFO("%s; stopping", why.c_str());
  if (on_stop_) on_stop_();
}

void LifecycleWatch::on_completion(Time, const loop::Completion& c) {
  switch (static_cast<Op>(c.tag.op)) {
    case Op::Signal: return on_signal(c.res);
    case Op::PidExit: return stop("target process " + std::to_string(opts_.pid.value_or(-1)) + " exited");
    case Op::PathEvent: return on_path_event(c.res);
    case Op::ExitFdReady: return on_exit_fd(c.res);
  }
}

void LifecycleWatch::on_signal(int res) {
  if (res == static_cast<int>(sizeof siginfo_)) {
    int sig = static_cast<int>(siginfo_.ssi_signo);
    if (contains(opts_.stop_signals, sig)) return stop("signal " + std::to_string(sig));
    if (on_signal_) on_signal_(sig);
  } else if (res < 0 && res != -EINTR && res != -EAGAIN) {
    LOG_WARN("reading signals failed: %s; signals no longer reach netd", std::strerror(-res));
    return;
  }
  arm_signal();
}

bool LifecycleWatch::path_gone(std::span<const std::byte> events, std::string_view name) {
  const size_t len = events.size();
  for (size_t off = 0; off + sizeof(inotify_event) <= len;) {
    inotify_event ev;
    std::memcpy(&ev, events.data() + off, sizeof ev);
    if (ev.mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT | IN_IGNORED)) return true;
    if (ev.len > 0 && off + sizeof ev + ev.len <= len) {
      const char* n = reinterpret_cast<const char*>(events.data() + off + sizeof ev);
      if (name == std::string_view(n, ::strnlen(n, ev.len))) return true;
    }
    off += sizeof ev + ev.len;
  }
  return false;
}

void LifecycleWatch::on_path_event(int res) {
  if (res > 0 && path_gone(std::span<const std::byte>(path_events_, static_cast<size_t>(res)), watched_name_))
    return stop(opts_.path + " is gone");
  if (res < 0 && res != -EAGAIN && res != -EINTR) {
    LOG_WARN("watching %s failed: %s; its removal will not stop netd", opts_.path.c_str(), std::strerror(-res));
    return;
  }
  arm_path();
}

void LifecycleWatch::on_exit_fd(int res) {
  const int fd = opts_.exit_fd;
  if (res == -EINTR) return arm_exit_fd();
  if (res == -ECANCELED) return;
  if (res < 0) return stop("exit fd " + std::to_string(fd) + ": " + std::strerror(-res));
  if (res & (POLLHUP | POLLERR | POLLRDHUP | POLLNVAL)) return stop("exit fd " + std::to_string(fd) + " hung up");
  // Readable: data (read and ignored) or end-of-file. The fd is not ours to
  // make non-blocking; a socket is read with MSG_DONTWAIT, a pipe that just
  // polled readable has something to read.
  char buf[256];
  ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0 && errno == ENOTSOCK) n = ::read(fd, buf, sizeof buf);
  if (n == 0) return stop("exit fd " + std::to_string(fd) + " closed");
  if (n < 0 && errno != EAGAIN && errno != EINTR)
    return stop("exit fd " + std::to_string(fd) + ": " + std::strerror(errno));
  arm_exit_fd();
}

}  // namespace netd
