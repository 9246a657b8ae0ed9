// FileFollow: the text of a host file, sent again each time it changes,
// also after netd entered its sandbox.
//
// Theory of operation: a sandboxed netd has an empty root and a seccomp
// list without open(), so it can neither re-open a path nor keep a
// directory fd to one (a directory fd outside the sandbox's root would be a
// way out of it). So before the sandbox, start() forks a small helper that
// stays outside, as common/exit_cleanup.h does. The helper watches, with
// inotify, the directory of the path and, when the path is a symlink (e.g.
// /etc/resolv.conf -> /run/systemd/resolve/stub-resolv.conf), the directory
// of the file it leads to: files like resolv.conf are replaced by rename,
// which a watch on the file itself would miss. After each batch of events
// (a short pause lets a burst settle) it reads the file through the path
// and, when the text differs from what it sent last, sends it as one
// datagram on a SOCK_SEQPACKET socketpair (at most kMaxText bytes). netd
// watches its end on its loop and takes the newest text; it never reads a
// path itself. The helper holds nothing of netd's (no tap, no sockets, no
// stdio), ignores the terminal's signals, and ends when netd's end hangs up
// (netd exited or was killed). A missing file is not a change: the helper
// waits for it to come back.
//
// Fork before any thread starts (the helper must not inherit locks).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>

#include "common/expected.h"
#include "common/unique_fd.h"

namespace netd {

class FileFollow {
 public:
  static constexpr size_t kMaxText = 64 * 1024;  // a longer file is cut here

  FileFollow() = default;  // follows nothing
  // Starts the helper for `path` (its directory must exist now). `initial`:
  // the text the caller already read, so only a change is sent.
  static Expected<FileFollow, std::string> start(const std::string& path, std::string initial);
  FileFollow(FileFollow&&) noexcept = default;
  FileFollow& operator=(FileFollow&&) noexcept = default;

  // Readable when the helper sent a text (or ended): watch it on the loop.
  int fd() const { return sock_.get(); }
  // What take() found.
  struct Taken {
    std::optional<std::string> text;  // the newest text, if any arrived
    bool ended = false;               // the helper is gone: stop watching fd()
  };
  // Reads every waiting message without blocking; keeps the newest.
  Taken take();
  pid_t helper_pid() const { return pid_; }
  const std::string& path() const { return path_; }

 private:
  UniqueFd sock_;
  pid_t pid_ = -1;
  std::string path_;
};

}  // namespace netd
