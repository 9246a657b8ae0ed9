// The argument-parsing half of `netd attach` and `netd forward`: argv in, a
// configuration or an exit status out, and no side effect but the text the
// command would print. The commands run what these return; the CLI fuzz
// target (tests/fuzz/fuzz_cli.cpp) drives them with arbitrary argv, next to
// parse_slirp4netns_args (netd/attach_runner.h).
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/netns.h"
#include "netd/attach_runner.h"
#include "portfwd/forwarder.h"

namespace netd::cli {

struct ParsedAttach {
  std::optional<int> exit_status;  // set: print nothing more, exit with it (help, errors)
  AttachConfig cfg;
  log::Level level = log::Level::Info;
};
// Help goes to `out`, errors to `err`.
ParsedAttach parse_attach_args(int argc, char** argv, std::ostream& out, std::ostream& err);

struct ParsedForward {
  std::optional<int> exit_status;
  NsTarget target;
  std::vector<portfwd::Forward> rules;
  unsigned udp_timeout = 60;
  int ready_fd = -1;
  int exit_fd = -1;
  std::string pid_file;
  log::Level level = log::Level::Info;
  bool sandbox = true;  // common/sandbox.h, after every port is bound
  bool seccomp = true;  // the forward allow-list (common/seccomp_filter.h)
};
ParsedForward parse_forward_args(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace netd::cli
