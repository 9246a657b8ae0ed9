// `netd setup podman [--user|--system] [--undo] [--dry-run]`: writes (or
// removes) the containers.conf drop-in that makes Podman run netd
// (netd/podman_conf.h says what it holds and why).
//
// The file is netd's own: a file of the same name that netd did not write
// (no marker line, or not a regular file) is never written over or removed.
// Writes go to a temporary file in the same directory, renamed into place,
// so Podman never reads half a file. Directories setup creates are left in
// place by --undo (they may hold other files by then). Exit status: 0 done
// (or nothing to do), 1 refused or failed, 2 usage.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "common/expected.h"
#include "netd/commands.h"
#include "netd/install_layout.h"
#include "netd/podman_conf.h"
#include "netd/run_command.h"

namespace netd::cmd {

namespace {

int fail(const std::string& msg) {
  std::fprintf(stderr, "netd setup podman: %s\n", msg.c_str());
  return 1;
}

// What is at `path`: nothing, a file netd wrote, or something else.
enum class Existing { None, Ours, Foreign };
Expected<Existing, std::string> inspect(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Existing::None;
    return unexpected(path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return Existing::Foreign;
  std::ifstream in(path, std::ios::binary);
  if (!in) return unexpected(path + ": cannot read it");
  std::string head(podman::kDropinMarker.size(), '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  return podman::is_netd_dropin(head) ? Existing::Ours : Existing::Foreign;
}

Expected<void, std::string> write_atomically(const std::string& dir, const std::string& path,
                                             const std::string& text) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return unexpected("cannot create " + dir + ": " + ec.message());
  std::string tmp = dir + "/.netd.conf.XXXXXX";
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return unexpected("cannot create a file in " + dir + ": " + std::strerror(errno));
  bool ok = ::fchmod(fd, 0644) == 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  int err = errno;
  ok = ::close(fd) == 0 && ok;
  if (ok && ::rename(tmp.c_str(), path.c_str()) == 0) return {};
  err = errno ? errno : err;
  ::unlink(tmp.c_str());
  return unexpected("cannot write " + path + ": " + std::strerror(err));
}

// One line about the Podman found here, or nothing when there is none.
std::string podman_note(const std::string& helpers) {
  auto r = run_command({"podman", "--version"}, 10000);
  if (!r || r->status != 0) return "podman is not installed here yet: the drop-in takes effect once it is.\n";
  auto v = podman::parse_podman_version(r->out);
  if (!v) return {};
  std::string helper = v->major >= 5 ? "pasta" : "slirp4netns";
  return "Podman " + v->text + " now runs " + helpers + "/" + helper +
         " for rootless containers (aardvark-dns too on bridge networks); 'netd doctor' checks it.\n";
}

constexpr const char* kSetupHelp =
    "Configure other programs to use netd.\n"
    "Usage: netd setup SUBCOMMAND [OPTIONS]\n"
    "\n"
    "Subcommands:\n"
    "  podman                      write the containers.conf drop-in that makes Podman run netd\n"
    "\n";
constexpr const char* kPodmanHelp =
    "Write the containers.conf drop-in (containers.conf.d/netd.conf) that makes Podman run netd\n"
    "as pasta, slirp4netns and aardvark-dns.\n"
    "Usage: netd setup podman [--user|--system] [--undo] [--dry-run]\n"
    "\n"
    "Options:\n"
    "  -h,--help                   print this help and exit\n"
    "  --user                      for this user: $XDG_CONFIG_HOME/containers/containers.conf.d\n"
    "                              (else ~/.config/...; the default)\n"
    "  --system                    for every user: /etc/containers/containers.conf.d (needs root)\n"
    "  --undo                      remove the drop-in netd wrote (never a file netd did not write)\n"
    "  --dry-run                   print what would be written or removed, change nothing\n"
    "\n"
    "The drop-in names netd's helper directory (libexec/netd beside the netd binary) first in\n"
    "helper_binaries_dir, followed by Podman's default directories, and its slirp4netns in\n"
    "network_cmd_path. A file of the same name that netd did not write is left alone.\n"
    "See netd-setup(1).\n";

int usage(const char* msg, const char* help) {
  std::fprintf(stderr, "netd setup: %s\n\n%s", msg, help);
  return 2;
}

}  // namespace

// (a handful of flags: parsed by hand, which keeps CLI11's compile cost out)
int setup(int argc, char** argv) {
  auto is_help = [](const char* a) { return std::strcmp(a, "-h") == 0 || std::strcmp(a, "--help") == 0; };
  if (argc < 2) return usage("which program? (podman)", kSetupHelp);
  if (is_help(argv[1])) {
    std::fputs(kSetupHelp, stdout);
    return 0;
  }
  if (std::strcmp(argv[1], "podman") != 0)
    return usage((std::string("unknown subcommand '") + argv[1] + "'").c_str(), kSetupHelp);
  bool user = false, system = false, undo = false, dry_run = false;
  for (int i = 2; i < argc; ++i) {
    std::string_view a = argv[i];
    if (is_help(argv[i])) {
      std::fputs(kPodmanHelp, stdout);
      return 0;
    }
    if (a == "--user") user = true;
    else if (a == "--system") system = true;
    else if (a == "--undo") undo = true;
    else if (a == "--dry-run") dry_run = true;
    else return usage((std::string("unknown option '") + argv[i] + "'").c_str(), kPodmanHelp);
  }
  if (user && system) return usage("--user and --system exclude each other", kPodmanHelp);

  auto scope = system ? podman::Scope::System : podman::Scope::User;
  auto dir = podman::dropin_dir(scope, std::getenv("XDG_CONFIG_HOME"), std::getenv("HOME"));
  if (!dir) return fail("neither XDG_CONFIG_HOME nor HOME is an absolute path: cannot tell where your containers.conf.d is");
  std::string path = *dir + "/" + podman::kDropinName;
  auto existing = inspect(path);
  if (!existing) return fail(existing.error());

  if (undo) {
    if (*existing == Existing::None) {
      std::printf("nothing to undo: %s does not exist\n", path.c_str());
      return 0;
    }
    if (*existing == Existing::Foreign)
      return fail(path + " was not written by netd (no '" + std::string(podman::kDropinMarker) + "' line): not removing it");
    if (!dry_run && ::unlink(path.c_str()) != 0) return fail("cannot remove " + path + ": " + std::strerror(errno));
    std::printf("%s %s\n", dry_run ? "would remove" : "removed", path.c_str());
    return 0;
  }

  if (*existing == Existing::Foreign)
    return fail(path + " exists and was not written by netd: not touching it (move it away, or put netd's "
                "settings into it yourself: 'netd setup podman --dry-run' prints them)");
  auto exe = install::self_exe();
  if (!exe) return fail(exe.error());
  std::string helpers = install::helpers_dir_for(*exe);
  auto missing = install::missing_helpers(helpers, *exe);
  if (!missing.empty())
    return fail("no helper " + missing.front() + " for " + *exe + " in " + helpers +
                ": install netd first (cmake --install, or its Debian package)");
  std::string text = podman::dropin_text(helpers, NETD_VERSION);
  if (!dry_run) {
    auto w = write_atomically(*dir, path, text);
    if (!w) return fail(w.error());
  }
  const char* verb = *existing == Existing::Ours ? (dry_run ? "would update" : "updated")
                                                 : (dry_run ? "would write" : "wrote");
  std::printf("%s %s:\n%s", verb, path.c_str(), text.c_str());
  if (!dry_run) std::printf("%s", podman_note(helpers).c_str());
  if (const char* cc = std::getenv("CONTAINERS_CONF"); cc && *cc)
    std::printf("note: CONTAINERS_CONF is set (%s): Podman reads only that file while it is\n", cc);
  return 0;
}

}  // namespace netd::cmd
