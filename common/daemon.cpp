#include "common/daemon.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include "common/files.h"
#include "common/log.h"
#include "common/time.h"

namespace netd {

Expected<void, std::string> write_pid_file(const std::string& path, bool newline) {
  std::string text = std::to_string(::getpid());
  if (newline) text += '\n';
  auto w = write_file_atomic(path, text, 0644);
  if (!w) return unexpected("cannot write pid file " + path + " (" + w.error() + ")");
  return {};
}

std::optional<pid_t> read_pid_file(const std::string& path) {
  auto text = read_file(path);
  if (!text) return std::nullopt;
  pid_t pid = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), pid);
  if (ec != std::errc() || pid <= 0) return std::nullopt;
  return pid;
}

void signal_ready(int fd) {
  if (fd < 0) return;
  if (::write(fd, "1", 1) != 1) LOG_WARN("cannot write to ready fd %d: %m", fd);
  ::close(fd);
}

ReadyWait wait_ready(int fd, int timeout_ms) {
  const Time until = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    int rc = ::poll(&p, 1, left > 0 ? static_cast<int>(left) : 0);
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) return ReadyWait::TimedOut;
    if (rc < 0) return ReadyWait::Closed;
    char c;
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    return n == 1 ? ReadyWait::Ready : ReadyWait::Closed;
  }
}

}  // namespace netd
