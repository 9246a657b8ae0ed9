// Running a short-lived program and capturing what it prints, for the
// commands that ask other tools (`podman --version`, `podman info`).
//
// Theory of operation: fork + execvp with stdin on /dev/null and stdout and
// stderr on two pipes that the parent drains with poll() until both close or
// the child has exited (a pidfd in the same poll; a process the child left
// running may keep the pipes open), bounded by a deadline after which the
// child is killed (SIGKILL) and reaped.
// A third, close-on-exec pipe carries errno from a failed exec, so "not
// installed" is told apart from "ran and failed". Output beyond a cap is
// read and dropped, so a chatty child can neither block nor grow us.
#pragma once

#include <string>
#include <vector>

#include "common/expected.h"

namespace netd {

struct CommandOutput {
  int status = 0;  // exit status, 128+signal when killed by one
  std::string out, err;
};

// An error (one line) when the program could not be started (its errno in
// *exec_errno when given: ENOENT for "not installed") or did not finish
// within timeout_ms.
Expected<CommandOutput, std::string> run_command(const std::vector<std::string>& argv, int timeout_ms,
                                                 int* exec_errno = nullptr);

}  // namespace netd
