// `netd rootless-netns [CMD ARGS...]`: runs CMD (default: $SHELL) inside the
// per-user rootless netns, joining its user and network namespaces, for
// debugging (ip a, nft list ruleset, ping a container). The namespace is
// created on demand like `netd network connect` would; the command's exit
// status becomes ours.
#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bridge/lock.h"
#include "bridge/network_ops.h"
#include "bridge/rootless_netns.h"
#include "bridge/spawn.h"
#include "netd/commands.h"

namespace netd::cmd {

namespace {

constexpr const char* kHelp =
    "Usage: netd rootless-netns [CMD [ARGS...]]\n"
    "\n"
    "Run CMD (default: $SHELL, else /bin/sh) inside the per-user rootless network\n"
    "namespace that holds the bridges of 'netd network', joining its user and network\n"
    "namespaces. Inside, you are root of that user namespace: 'ip addr', 'ip route',\n"
    "'nft list table inet netd' and ping to containers work.\n"
    "\n"
    "The namespace exists while at least one network exists (it is created on first\n"
    "'netd network connect'); this command fails if there is none.\n"
    "\n"
    "Options:\n"
    "  -h, --help   show this help\n"
    "\n"
    "Environment: NETD_RUNTIME_DIR (else $XDG_RUNTIME_DIR/netd) holds the namespace record.\n";

int fail(const std::string& msg) {
  std::fprintf(stderr, "netd rootless-netns: %s\n", msg.c_str());
  return 1;
}

}  // namespace

int rootless_netns(int argc, char** argv) {
  if (argc > 1 && (std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "--help") == 0)) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  int first = 1;
  if (argc > 1 && std::strcmp(argv[1], "--") == 0) first = 2;
  std::vector<std::string> cmd;
  for (int i = first; i < argc; ++i) cmd.emplace_back(argv[i]);
  if (cmd.empty()) {
    const char* sh = std::getenv("SHELL");
    cmd.emplace_back(sh && *sh ? sh : "/bin/sh");
  }

  bridge::Paths p = bridge::default_paths();
  std::optional<bridge::RootlessNetns> rn;
  {
    if (auto d = bridge::ensure_dir(p.runtime_dir); !d) return fail(d.error());
    auto lock = bridge::StateLock::acquire(p.lock_file());
    if (!lock) return fail(lock.error());
    rn = bridge::find_rootless_netns(p);
  }
  if (!rn) return fail("there is no rootless netns yet (connect a container with 'netd network connect' first)");

  std::fprintf(stderr, "netd: entering the rootless netns (holder pid %d); exit to leave\n", static_cast<int>(rn->pid));
  pid_t child = ::fork();
  if (child < 0) return fail(std::string("fork: ") + std::strerror(errno));
  if (child == 0) {
    if (auto j = bridge::join_rootless_netns(rn->pid); !j) {
      std::fprintf(stderr, "netd rootless-netns: %s\n", j.error().c_str());
      ::_exit(126);
    }
    ::setenv("NETD_ROOTLESS_NETNS", "1", 1);
    std::vector<char*> args;
    for (auto& s : cmd) args.push_back(s.data());
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    std::fprintf(stderr, "netd rootless-netns: cannot run %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

}  // namespace netd::cmd
