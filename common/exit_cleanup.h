// Removing netd's files (API socket, pid file) at exit, from outside the
// sandbox, even when netd is killed.
//
// Theory of operation: a sandboxed netd can no longer reach the paths it
// created (its root is an empty tmpfs), so before entering the sandbox it
// forks a tiny helper that stays outside. The helper closes every fd but its
// end of a socketpair and waits on it. On finish() netd asks it to remove
// the files and waits for the answer, so a client that sees netd exit also
// sees the files gone. If netd dies without asking (SIGKILL, a crash), the
// socketpair hangs up and the helper removes them anyway. A path is only
// removed while it is still the file netd made (same device and inode): a
// newer netd that already took the same path over keeps its file. The helper
// ignores SIGINT/SIGTERM/SIGHUP (a terminal's Ctrl-C reaches the whole
// process group): it ends with netd.
//
// Fork before any thread starts (the helper must not inherit locks).
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "common/expected.h"
#include "common/unique_fd.h"

namespace netd {

// For a helper process just forked from netd (this one, common/file_follow.h):
// keeps only `sock` (moved to fd 3, which is returned) and points stdio at
// /dev/null, so the helper holds nothing of netd's: not the tap, not its
// sockets, not its stdio (a caller reading netd's output until EOF, as
// Podman reads pasta's, would otherwise wait for the helper too).
int keep_only_helper_fd(int sock);

// Forks such a helper with a socketpair of `sock_type` between it and netd:
// `tune` may size both ends first (netd's end, the helper's end); the child
// closes netd's end and runs `helper` (which must not return) on its own.
// Returns netd's end and the helper's pid; on failure nothing is left open.
struct HelperProcess {
  UniqueFd sock;
  pid_t pid = -1;
};
Expected<HelperProcess, std::string> fork_helper(int sock_type, const std::function<void(int ours, int theirs)>& tune,
                                                 const std::function<void(int sock)>& helper);

class ExitCleanup {
 public:
  ExitCleanup() = default;  // does nothing
  // Starts the helper for `paths` (each must exist now; empty entries are
  // skipped). Returns a message when a path cannot be stat'ed or fork fails.
  static Expected<ExitCleanup, std::string> start(const std::vector<std::string>& paths);
  ExitCleanup(ExitCleanup&&) noexcept = default;
  ExitCleanup& operator=(ExitCleanup&&) noexcept = default;
  // Removes the files now and waits (at most a few seconds) for the helper.
  // Called by the destructor if not called before.
  void finish();
  ~ExitCleanup() { finish(); }
  pid_t helper_pid() const { return pid_; }

 private:
  UniqueFd sock_;
  pid_t pid_ = -1;
};

}  // namespace netd
