// netd: one binary, several subcommands (see docs/architecture.md and docs/man/).
// Dispatch is by argv[1], or by argv[0] when netd is installed under a
// drop-in name (a symlink called slirp4netns, pasta, pesto or aardvark-dns).
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "netd/commands.h"

namespace {

constexpr const char* kUsage =
    "Usage: netd COMMAND [OPTIONS]\n"
    "\n"
    "A rootless networking stack for Linux containers.\n"
    "\n"
    "Commands:\n"
    "  attach          attach a TAP device in a container's network namespace and\n"
    "                  translate its traffic to host sockets (like pasta/slirp4netns)\n"
    "  slirp4netns     the attach engine behind slirp4netns' command line\n"
    "  pasta           the attach engine behind pasta's command line (Podman 5)\n"
    "  forward         forward host ports into a network namespace\n"
    "  network         manage per-user bridge networks (create, ls, inspect, rm, ...)\n"
    "  dns             embedded DNS server (aardvark-dns compatible)\n"
    "  rootless-netns  run a shell or command inside the per-user rootless netns\n"
    "  ctl             send a request to a running netd's API socket\n"
    "  pesto           show or change the forwarding tables of a running pasta\n"
  "  setup           configure Podman to use netd (setup podman [--user|--system] [--undo])\n"
  "  doctor          check what netd needs on this host and name each fix\n"
    "  version         print the version\n"
    "\n"
    "Run 'netd COMMAND --help' for the options of a command; man pages are in docs/man/.\n";

struct Command {
  const char* name;
  int (*fn)(int, char**);
};
constexpr Command kCommands[] = {
    {"attach", netd::cmd::attach},
    {"slirp4netns", netd::cmd::slirp4netns},
    {"pasta", netd::cmd::pasta},
    {"forward", netd::cmd::forward},
    {"network", netd::cmd::network},
    {"dns", netd::cmd::dns},
    {"rootless-netns", netd::cmd::rootless_netns},
    {"ctl", netd::cmd::ctl},
    {"pesto", netd::cmd::pesto},
    {"setup", netd::cmd::setup},
    {"doctor", netd::cmd::doctor},
};

std::string_view basename_of(const char* path) {
  std::string_view p(path ? path : "");
  auto slash = p.rfind('/');
  return slash == std::string_view::npos ? p : p.substr(slash + 1);
}

}  // namespace

int main(int argc, char** argv) {
  std::string_view self = basename_of(argv[0]);
  if (self == "slirp4netns") return netd::cmd::slirp4netns(argc, argv);
  if (self == "aardvark-dns") return netd::cmd::dns(argc, argv);
  if (self == "pasta") return netd::cmd::pasta(argc, argv);
  if (self == "pesto") return netd::cmd::pesto(argc, argv);

  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::string_view sub = argv[1];
  if (sub == "-h" || sub == "--help" || sub == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (sub == "version" || sub == "--version" || sub == "-v") {
    std::printf("netd version %s\n", NETD_VERSION);
    return 0;
  }
  for (const auto& c : kCommands) {
    if (sub == c.name) {
      // The subcommand sees "netd NAME" as its argv[0].
      std::string display = std::string("netd ") + c.name;
      argv[1] = display.data();
      return c.fn(argc - 1, argv + 1);
    }
  }
  std::fprintf(stderr, "netd: unknown command '%s'\n\n%s", argv[1], kUsage);
  return 2;
}
