// Logging: one line per event on stderr, "netd[level]: message".
//
// Levels: error (something a user must act on), warn (degraded but running),
// info (lifecycle), debug (per-event traces, off by default; the packet path
// only logs at debug and through RateLimit so a flood cannot flood the log).
#pragma once

#include <cstdarg>
#include <cstdint>
#include <string_view>

#include "common/time.h"

namespace netd::log {

enum class Level { Error = 0, Warn = 1, Info = 2, Debug = 3 };

void set_level(Level l);
// "error", "warn", "info", "debug" -> the level; anything else -> Info.
// (CLI11 validates the word; this only maps it.)
Level parse_level(std::string_view word);
Level level();
// Prefix of every line (default "netd"); slirp4netns/aardvark-dns modes set their own name.
void set_program(const char* name);
inline bool enabled(Level l) { return static_cast<int>(l) <= static_cast<int>(level()); }

void write(Level l, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// The system log, for a daemon that no longer has a stderr (netd pasta once
// it is ready). connect_syslog() connects a datagram socket to /dev/log now,
// while the path can still be reached (before the sandbox); use_syslog()
// then sends every line there instead of stderr (RFC 3164 framing, facility
// daemon; a line the log cannot take at once is dropped, never waited for).
// Returns false when there is no system log: lines are then dropped.
bool connect_syslog();
void use_syslog();

// Allows at most `burst` events per `period`; counts what it suppressed so the
// next allowed line can say how many were dropped.
class RateLimit {
 public:
  RateLimit(Duration period, uint32_t burst) : period_(period), burst_(burst) {}
  // Returns true if the caller may log now. `suppressed` receives how many
  // events were swallowed since the last allowed one.
  bool allow(Time now, uint64_t* suppressed = nullptr);

 private:
  Duration period_;
  uint32_t burst_;
  Time window_start_{};
  uint32_t in_window_ = 0;
  uint64_t suppressed_ = 0;
};

}  // namespace netd::log

#define NETD_LOG(lvl, ...)                                            \
  do {                                                                \
    if (::netd::log::enabled(lvl)) ::netd::log::write(lvl, __VA_ARGS__); \
  } while (0)
#define LOG_ERROR(...) NETD_LOG(::netd::log::Level::Error, __VA_ARGS__)
#define LOG_WARN(...) NETD_LOG(::netd::log::Level::Warn, __VA_ARGS__)
#define LOG_INFO(...) NETD_LOG(::netd::log::Level::Info, __VA_ARGS__)
#define LOG_DEBUG(...) NETD_LOG(::netd::log::Level::Debug, __VA_ARGS__)
