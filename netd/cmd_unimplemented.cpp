// Subcommands whose issue has not landed yet fail with a clear message and
// exit status 2 instead of pretending to work. Each moves to its own
// cmd_<name>.cpp when it is built (and leaves this file).
#include <cstdio>

#include "netd/commands.h"

namespace netd::cmd {
namespace {
int not_yet(const char* what) {
  std::fprintf(stderr, "netd: '%s' is not implemented in this version yet\n", what);
  return 2;
}
}  // namespace

int dns(int, char**) { return not_yet("dns"); }
int network(int, char**) { return not_yet("network"); }
int rootless_netns(int, char**) { return not_yet("rootless-netns"); }

}  // namespace netd::cmd
