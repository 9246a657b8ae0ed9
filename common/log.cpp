#include "common/log.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>

namespace netd::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::Info)};
const char* g_program = "netd";
std::atomic<int> g_syslog_fd{-1};
std::atomic<bool> g_to_syslog{false};
// RFC 5424 severities for our levels, facility daemon (3).
int syslog_priority(Level l) {
  static constexpr int kSeverity[] = {3, 4, 6, 7};  // err, warning, info, debug
  return 3 * 8 + kSeverity[static_cast<int>(l)];
}
const char* name_of(Level l) {
  switch (l) {
    case Level::Error: return "error";
    case Level::Warn: return "warn";
    case Level::Info: return "info";
    case Level::Debug: return "debug";
  }
  return "?";
}
}  // namespace

void set_level(Level l) { g_level.store(static_cast<int>(l)); }

Level parse_level(std::string_view w) {
  if (w == "error") return Level::Error;
  if (w == "warn") return Level::Warn;
  if (w == "debug") return Level::Debug;
  return Level::Info;
}
Level level() { return static_cast<Level>(g_level.load(std::memory_order_relaxed)); }
void set_program(const char* name) { g_program = name; }

bool connect_syslog() {
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strcpy(sa.sun_path, "/dev/log");
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return false;
  }
  int old = g_syslog_fd.exchange(fd);
  if (old >= 0) ::close(old);
  return true;
}

void use_syslog() { g_to_syslog.store(true); }

void write(Level l, const char* fmt, ...) {
  char buf[4096];  // the counters line (one JSON object) is the longest
  const bool to_syslog = g_to_syslog.load(std::memory_order_relaxed);
  int n = to_syslog ? std::snprintf(buf, sizeof buf, "<%d>%s[%d]: ", syslog_priority(l), g_program,
                                    static_cast<int>(::getpid()))
                    : std::snprintf(buf, sizeof buf, "%s[%s]: ", g_program, name_of(l));
  if (n < 0) return;
  va_list ap;
  va_start(ap, fmt);
  int m = std::vsnprintf(buf + n, sizeof buf - static_cast<size_t>(n) - 1, fmt, ap);
  va_end(ap);
  size_t len = static_cast<size_t>(n) + (m < 0 ? 0 : static_cast<size_t>(m));
  if (len > sizeof buf - 2) len = sizeof buf - 2;
  if (to_syslog) {
    int fd = g_syslog_fd.load(std::memory_order_relaxed);
    if (fd >= 0) (void)!::send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    return;
  }
  buf[len++] = '\n';
  // One write(2) per line so lines from several processes do not interleave.
  (void)!::fwrite(buf, 1, len, stderr);
  std::fflush(stderr);
}

bool RateLimit::allow(Time now, uint64_t* suppressed) {
  if (now - window_start_ >= period_) {
    window_start_ = now;
    in_window_ = 0;
  }
  if (in_window_ < burst_) {
    ++in_window_;
    if (suppressed) *suppressed = suppressed_;
    suppressed_ = 0;
    return true;
  }
  ++suppressed_;
  return false;
}

}  // namespace netd::log
