// `netd doctor`: checks what netd needs on this host, as the calling user,
// and names the fix for each missing piece (netd/doctor_checks.h judges;
// this file only gathers the facts).
//
// What it tries rather than reads, because a sysctl can look fine while a
// seccomp filter, an LSM or a container runtime still says no:
//   - opening /dev/net/tun read-write;
//   - a user + network namespace: a forked child unshares both, maps this
//     uid to root, brings lo up inside (which needs the namespace's
//     CAP_NET_ADMIN: AppArmor's userns restriction lets unshare succeed and
//     takes the capabilities away) and waits; the parent then loads the
//     bridge networks' nftables rules (bridge/nft_apply.h, the same script and
//     check-back `netd network` uses) into that namespace, and kills it;
//   - netd's own io_uring set-up (common/uring.h), and the raw syscall for
//     its errno when that fails; then whether make_event_loop()
//     (common/event_loop.h) still gives the data planes a loop;
//   - `podman --version` and `podman info --format json`.
// Exit status: 0 when no check FAILs, 1 otherwise, 2 on usage errors.
#include <fcntl.h>
#include <linux/io_uring.h>
#include <net/if.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "bridge/nft_apply.h"
#include "common/event_loop.h"
#include "common/log.h"
#include "common/uring.h"
#include "netd/commands.h"
#include "netd/doctor_checks.h"
#include "netd/install_layout.h"
#include "netd/podman_conf.h"
#include "netd/run_command.h"

namespace netd::cmd {

namespace {

using doctor::Attempt;
using doctor::HostFacts;

Attempt failed(int err, const std::string& what) { return Attempt{err, what + ": " + std::strerror(err)}; }

std::optional<std::string> read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A /proc/sys value with its trailing newline gone and tabs (ping_group_range
// has one) made spaces.
std::optional<std::string> sysctl(const char* path) {
  auto v = read_file(path);
  if (!v) return std::nullopt;
  while (!v->empty() && (v->back() == '\n' || v->back() == ' ')) v->pop_back();
  for (char& c : *v)
    if (c == '\t') c = ' ';
  return v;
}

std::string resolve(const std::string& path) {
  char buf[PATH_MAX];
  return !path.empty() && ::realpath(path.c_str(), buf) ? std::string(buf) : std::string();
}

doctor::UidmapTool find_tool(const char* name) {
  for (const char* dir : {"/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"}) {
    std::string p = std::string(dir) + "/" + name;
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) continue;
    bool caps = ::getxattr(p.c_str(), "security.capability", nullptr, 0) > 0;
    return {true, (st.st_uid == 0 && (st.st_mode & S_ISUID)) || caps};
  }
  return {};
}

Attempt try_tun() {
  int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) return failed(errno, "/dev/net/tun");
  ::close(fd);
  return {};
}

Attempt try_io_uring() {
  auto ring = loop::UringLoop::create(8);
  if (ring) return {};
  // The raw call tells why (EPERM: refused; ENOSYS: filtered or not built).
  io_uring_params p{};
  long fd = ::syscall(__NR_io_uring_setup, 1, &p);
  if (fd < 0) return failed(errno, "io_uring_setup");
  ::close(static_cast<int>(fd));
  return Attempt{EOPNOTSUPP, ring.error()};  // the syscall works, netd's ring set-up does not
}

// The event loop netd's data planes would run on instead of io_uring (what
// make_event_loop() picks here), or "" when there is none.
std::string fallback_loop() {
  // (Quietly: the loop's own "using epoll instead" warning is the io_uring
  // row's verdict, said once in the table.)
  const log::Level before = log::level();
  log::set_level(log::Level::Error);
  auto l = loop::make_event_loop(loop::LoopOptions{8});
  log::set_level(before);
  return l ? std::string((*l)->name()) : std::string();
}

// A child in a fresh user + network namespace, kept until killed.
struct Holder {
  pid_t pid = 0;
  ~Holder() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
};

bool write_proc(const char* path, const std::string& text) {
  int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

// Reports 0 or an errno with the step that failed, then pauses.
[[noreturn]] void holder_child(int report, uid_t uid, gid_t gid) {
  auto say = [&](int err, const char* step) {
    char msg[128];
    int n = std::snprintf(msg, sizeof msg, "%d %s", err, step);
    (void)!::write(report, msg, static_cast<size_t>(n));
    ::close(report);
  };
  if (::unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) {
    say(errno, "unshare(CLONE_NEWUSER|CLONE_NEWNET)");
    ::_exit(1);
  }
  if (!write_proc("/proc/self/setgroups", "deny") ||
      !write_proc("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1") ||
      !write_proc("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1")) {
    say(errno, "writing the namespace's id maps");
    ::_exit(1);
  }
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (s < 0 || ::ioctl(s, SIOCGIFFLAGS, &ifr) != 0 || (ifr.ifr_flags |= IFF_UP, ::ioctl(s, SIOCSIFFLAGS, &ifr)) != 0) {
    say(errno, "bringing lo up inside (CAP_NET_ADMIN in the namespace)");
    ::_exit(1);
  }
  ::close(s);
  say(0, "ok");
  for (;;) ::pause();
}

Attempt make_holder(Holder& h) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return failed(errno, "pipe");
  uid_t uid = ::getuid();
  gid_t gid = ::getgid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(p[0]);
    ::close(p[1]);
    return failed(errno, "fork");
  }
  if (pid == 0) {
    ::close(p[0]);
    holder_child(p[1], uid, gid);
  }
  ::close(p[1]);
  h.pid = pid;
  char buf[160] = {};
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof buf - 1)) < 0 && errno == EINTR) {
  }
  ::close(p[0]);
  if (n <= 0) return Attempt{ECHILD, "the namespace probe died"};
  int err = std::atoi(buf);
  if (err == 0) return {};
  const char* step = std::strchr(buf, ' ');
  return failed(err, step ? step + 1 : "namespace probe");
}

// The firewall of one bridge network with a published port: every chain
// type `netd network` loads (filter, NAT with masquerade and DNAT).
Attempt try_nftables(pid_t holder) {
  bridge::FirewallNetwork n;
  n.name = "doctor";
  n.bridge = "netd-doctor0";
  n.subnet = *net::Ipv4Cidr::parse("10.89.254.0/24");
  n.gateway = *net::Ipv4Addr::parse("10.89.254.1");
  n.ports.push_back({"tcp", 8080, 80, *net::Ipv4Addr::parse("10.89.254.2"), "doctor"});
  NsTarget t;
  t.pid = holder;
  auto r = bridge::apply_firewall(t, {n});
  if (r) return {};
  return Attempt{EPROTO, r.error()};
}

std::string first_line(const std::string& s) {
  std::string t = s.substr(0, s.find('\n'));
  return t.empty() ? "no output" : t;
}

void podman_facts(HostFacts& f) {
  int exec_err = 0;
  auto v = run_command({"podman", "--version"}, 10000, &exec_err);
  if (!v) {
    if (exec_err != ENOENT) f.podman_version_error = v.error();
    return;
  }
  if (v->status != 0) {
    f.podman_version_error = "exit status " + std::to_string(v->status) + ": " + first_line(v->err);
    return;
  }
  f.podman_version_output = v->out;
  auto info = run_command({"podman", "info", "--format", "json"}, 60000);
  if (!info) {
    f.podman_info_error = info.error();
  } else if (info->status != 0) {
    // podman prefixes its own errors with "Error: "; warnings come first.
    auto at = info->err.find("Error: ");
    f.podman_info_error = first_line(at == std::string::npos ? info->err : info->err.substr(at));
  } else {
    f.podman_info_json = info->out;
    if (auto facts = podman::parse_podman_info(info->out)) {
      f.slirp4netns_resolved = resolve(facts->slirp4netns_executable);
      f.pasta_resolved = resolve(facts->pasta_executable);
    }
  }
}

HostFacts gather() {
  HostFacts f;
  f.uid = ::getuid();
  if (passwd* pw = ::getpwuid(f.uid)) f.user = pw->pw_name;
  f.groups.push_back(::getegid());
  int n = ::getgroups(0, nullptr);
  if (n > 0) {
    std::vector<gid_t> g(static_cast<size_t>(n));
    n = ::getgroups(n, g.data());
    for (int i = 0; i < n; ++i) f.groups.push_back(g[static_cast<size_t>(i)]);
  }
  f.tun = try_tun();
  f.subuid = read_file("/etc/subuid");
  f.subgid = read_file("/etc/subgid");
  f.newuidmap = find_tool("newuidmap");
  f.newgidmap = find_tool("newgidmap");
  f.unprivileged_userns_clone = sysctl("/proc/sys/kernel/unprivileged_userns_clone");
  f.max_user_namespaces = sysctl("/proc/sys/user/max_user_namespaces");
  f.apparmor_restrict_unprivileged_userns = sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns");
  f.io_uring_disabled = sysctl("/proc/sys/kernel/io_uring_disabled");
  f.ping_group_range = sysctl("/proc/sys/net/ipv4/ping_group_range");
  f.unprivileged_port_start = sysctl("/proc/sys/net/ipv4/ip_unprivileged_port_start");
  {
    Holder h;
    f.userns = make_holder(h);
    if (f.userns.ok()) f.nftables = try_nftables(h.pid);
  }
  f.io_uring = try_io_uring();
  if (!f.io_uring.ok()) f.fallback_loop = fallback_loop();
  if (auto exe = install::self_exe()) {
    f.netd_exe = *exe;
    f.helpers_dir = install::helpers_dir_for(*exe);
    f.helpers_missing = install::missing_helpers(f.helpers_dir, *exe);
  }
  podman_facts(f);
  return f;
}

constexpr const char* kDoctorHelp =
    "Check what netd needs on this host, as this user, and name the fix for each missing piece.\n"
    "Usage: netd doctor\n"
    "\n"
    "One line per check: OK, WARN (a feature is missing or slower) or FAIL (netd cannot work\n"
    "here as this user), what was found and, after 'fix:', what to do. Exit status 0 when\n"
    "nothing FAILs. See netd-doctor(1).\n";

}  // namespace

int doctor(int argc, char** argv) {
  // (no options: a hand check keeps this file free of CLI11's compile cost)
  if (argc == 2 && (std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "--help") == 0)) {
    std::fputs(kDoctorHelp, stdout);
    return 0;
  }
  if (argc > 1) {
    std::fprintf(stderr, "netd doctor: unexpected argument '%s'\n\n%s", argv[1], kDoctorHelp);
    return 2;
  }
  std::fflush(stdout);  // (the probes fork)
  HostFacts facts = gather();
  int status = 0;
  for (const auto& c : doctor::evaluate(facts)) {
    std::printf("%s\n", doctor::format(c).c_str());
    if (c.status == doctor::Status::Fail) status = 1;
  }
  return status;
}

}  // namespace netd::cmd
