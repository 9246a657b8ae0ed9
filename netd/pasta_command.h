// `netd pasta [OPTIONS] [COMMAND [ARG]...]` without --netns or a PID: like
// pasta, run COMMAND (default: the user's $SHELL as a login shell) in a new
// user and network namespace that netd connects.
//
// Theory of operation: spawn() forks a child that makes its own user
// namespace (the caller's uid and gid mapped to root, as pasta maps them)
// and network namespace, lets unprivileged ping work there
// (ping_group_range), reports that its namespaces exist, and then waits on a
// pipe. The engine attaches to the child's namespaces like to any PID; once
// the engine is ready, go() releases the child, which execs the command. On
// a terminal the child gets a process group of its own and becomes the
// terminal's foreground group, so Ctrl-C and Ctrl-Z reach the command, not
// netd. When the command exits the engine stops (it watches the PID), and
// finish() hands the terminal back and returns the command's exit status
// (128+N for a signal), which netd pasta exits with, as pasta does.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/expected.h"
#include "common/unique_fd.h"

namespace netd {

class PastaCommand {
 public:
  // Starts the child; argv empty: $SHELL (or /bin/sh) as a login shell.
  static Expected<PastaCommand, std::string> spawn(const std::vector<std::string>& argv);
  pid_t pid() const { return pid_; }
  // Lets the child exec its command (once the network is ready).
  void go();
  // Waits for the child (after go(), or to reap it after a failure: the
  // child then exits 1 without running anything); the exit status.
  int finish();

 private:
  pid_t pid_ = -1;
  UniqueFd go_;
  bool terminal_ = false;
};

}  // namespace netd
