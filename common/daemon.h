// What netd's long-running commands tell whoever started them: the pid file
// and the ready fd; and the starting side of the ready fd, for netd starting
// netd.
//
// Theory of operation: a supervisor (Podman, RootlessKit, `netd network`)
// learns which process runs from a pid file, and that it is ready from one
// byte on an fd it handed over (slirp4netns' protocol: "1", then close). A
// command writes both only after everything its clients rely on is open
// (every port bound, the tap attached), so "ready" means traffic flows. A
// ready fd closed without a byte means the child failed; its log says why.
// The exit fd, the other half of slirp4netns' protocol (stop when the
// supervisor closes its end), is watched on the event loop instead
// (common/lifecycle_watch.h).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "common/expected.h"

namespace netd {

// Writes this process's pid to `path`, replacing the file atomically (mode
// 0644), with a trailing newline unless `newline` is false (aardvark-dns'
// pid file has none, and netavark reads it). Returns a one-line error.
Expected<void, std::string> write_pid_file(const std::string& path, bool newline = true);
// The pid written in `path`, or nullopt when it is missing or holds no
// positive number.
std::optional<pid_t> read_pid_file(const std::string& path);

// Writes the ready byte "1" to `fd` and closes it. A failed write is logged
// (the supervisor went away); it does not stop the command.
void signal_ready(int fd);

enum class ReadyWait {
  Ready,     // the byte arrived
  Closed,    // the writer closed the fd without writing: the child failed
  TimedOut,  // nothing within the time limit
};
// Waits at most `timeout_ms` for the ready byte on `fd` (the read end).
ReadyWait wait_ready(int fd, int timeout_ms);

}  // namespace netd
