#include "bridge/rootless_netns.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "bridge/dns_service.h"
#include "bridge/spawn.h"
#include "bridge/crash_point.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/unique_fd.h"

namespace netd::bridge {

namespace {

constexpr const char* kHolderName = "netd-netns";

void write_proc(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  (void)!::write(fd, text.data(), text.size());
  ::close(fd);
}

void set_lo_up() {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
    ifr.ifr_flags |= IFF_UP;
    (void)::ioctl(s, SIOCSIFFLAGS, &ifr);
  }
  ::close(s);
}

void stdio_to(const std::string& out_path) {
  int in = ::open("/dev/null", O_RDONLY);
  int out = out_path.empty() ? ::open("/dev/null", O_WRONLY)
                             : ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (in >= 0) ::dup2(in, 0);
  if (out >= 0) {
    ::dup2(out, 1);
    ::dup2(out, 2);
  }
  if (in > 2) ::close(in);
  if (out > 2) ::close(out);
}

// The holder: never returns. Reports "R" or "E<message>" on `report`, then
// waits on `commit` for the byte 'C': the parent sends it only after the
// holder (and its outward engine) are recorded. If the parent dies first
// (killed mid-call), the read sees EOF and the holder exits, so a crash can
// never leave a holder that no record names.
[[noreturn]] void holder_main(int report, int commit, uid_t uid, gid_t gid) {
  // Drop every inherited fd first (the state lock among them) but the pipes.
  int lo = std::min(report, commit), hi = std::max(report, commit);
  if (lo > 3) ::close_range(3, static_cast<unsigned>(lo - 1), 0);
  if (hi > lo + 1) ::close_range(static_cast<unsigned>(lo + 1), static_cast<unsigned>(hi - 1), 0);
  ::close_range(static_cast<unsigned>(hi + 1), ~0u, 0);
  ::setsid();
  stdio_to("");
  std::string err;
  if (::unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) {
    err = std::string("cannot create the rootless netns (unshare user+net): ") + std::strerror(errno);
  } else {
    write_proc("/proc/self/setgroups", "deny");
    write_proc("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1");
    write_proc("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1");
    set_lo_up();
    ::prctl(PR_SET_NAME, kHolderName, 0, 0, 0);
  }
  std::string msg = err.empty() ? "R" : "E" + err;
  (void)!::write(report, msg.data(), msg.size());
  ::close(report);
  if (!err.empty()) ::_exit(1);
  char c = 0;
  ssize_t n;
  while ((n = ::read(commit, &c, 1)) < 0 && errno == EINTR) {
  }
  if (n != 1 || c != 'C') ::_exit(0);
  ::close(commit);
  for (;;) ::pause();
}

struct Holder {
  pid_t pid = 0;
  UniqueFd commit;  // write 'C' to keep the holder; close to let it exit
};

Expected<Holder, std::string> spawn_holder() {
  int p[2], c[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return unexpected(std::string("pipe: ") + std::strerror(errno));
  if (::pipe2(c, O_CLOEXEC) != 0) {
    ::close(p[0]);
    ::close(p[1]);
    return unexpected(std::string("pipe: ") + std::strerror(errno));
  }
  uid_t uid = ::getuid();
  gid_t gid = ::getgid();
  pid_t pid = ::fork();
  if (pid < 0) return unexpected(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::close(p[0]);
    ::close(c[1]);
    holder_main(p[1], c[0], uid, gid);
  }
  ::close(p[1]);
  ::close(c[0]);
  Holder h{pid, UniqueFd(c[1])};
  char buf[512];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof buf)) < 0 && errno == EINTR) {
  }
  ::close(p[0]);
  if (n > 0 && buf[0] == 'R') return h;
  ::waitpid(pid, nullptr, 0);
  if (n > 1) return unexpected(std::string(buf + 1, static_cast<size_t>(n - 1)));
  return unexpected(std::string("the rootless netns holder died while starting"));
}

// Starts the outward engine for the holder's namespaces: `netd slirp4netns`
// with the command line podman gives slirp4netns for its rootless netns, plus
// an API socket that carries published ports (netd network connect -p),
// sandboxed with the seccomp filter like podman's slirp4netns. (A refused
// bind's error message reads ip_unprivileged_port_start: inside the sandbox
// that openat fails with ENOENT and the message assumes 1024, instead of the
// filter stopping the engine, as it did before openat was answered.)
// Without `host_loopback` it runs with --disable-host-loopback, so its
// gateway leads nowhere on the host (its DNS forwarder still asks the host's
// resolvers, wherever they are: docs/security.md).
// Returns its pid, or 0 after explaining on stderr why the rootless netns has
// no way out.
pid_t spawn_attach(const Paths& p, pid_t holder, bool host_loopback) {
  LOG_INFO("starting 'netd slirp4netns' for the rootless netns (pid %d); log: %s", static_cast<int>(holder),
           p.attach_log().c_str());
  int rp[2];
  if (::pipe2(rp, O_CLOEXEC) != 0) return 0;
  std::string net = "/proc/" + std::to_string(holder) + "/ns/net";
  std::string user = "/proc/" + std::to_string(holder) + "/ns/user";
  SpawnOptions so;
  so.args = {"slirp4netns",
             "--configure",
             "--enable-sandbox",
             "--enable-seccomp",
             "--mtu=" + std::to_string(kOutwardMtu),
             "--ready-fd=3",
             "--api-socket=" + p.attach_socket(),
             "--netns-type=path",
             "--userns-path=" + user};
  if (!host_loopback) so.args.push_back("--disable-host-loopback");
  so.args.push_back(net);
  so.args.push_back("tap0");
  so.log_path = p.attach_log();
  so.fd3 = rp[1];
  auto pid = spawn_netd(so);
  ::close(rp[1]);
  if (!pid) {
    ::close(rp[0]);
    LOG_WARN("cannot start 'netd slirp4netns': %s", pid.error().c_str());
    return 0;
  }
  ReadyWait ready = wait_ready(rp[0], 5000);
  ::close(rp[0]);
  if (ready == ReadyWait::TimedOut) {
    LOG_WARN("'netd slirp4netns' did not report ready within 5 s; keeping it running");
    return *pid;
  }
  if (ready == ReadyWait::Ready) return *pid;
  int code = wait_child(*pid, 2000).value_or(-1);
  LOG_WARN(
      "'netd slirp4netns' failed (exit %d, see %s): the rootless netns has no outward connectivity; "
      "networks still work locally (container <-> container)",
      code, p.attach_log().c_str());
  return 0;
}

Expected<void, std::string> save_record(const Paths& p, const RootlessNetns& r) {
  nlohmann::json j{{"pid", r.pid},
                   {"start_time", r.start_time},
                   {"user", r.user_path()},
                   {"net", r.net_path()},
                   {"attach_pid", r.attach_pid},
                   {"attach_start_time", r.attach_start_time},
                   {"attach_host_loopback", r.attach_host_loopback}};
  return write_file_atomic(p.netns_record(), j.dump(2) + "\n");
}

std::optional<RootlessNetns> load_record(const Paths& p) {
  auto text = read_file(p.netns_record());
  if (!text) return std::nullopt;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  try {
    RootlessNetns r;
    r.pid = j.at("pid").get<pid_t>();
    r.start_time = j.at("start_time").get<unsigned long long>();
    r.attach_pid = j.value("attach_pid", pid_t{0});
    r.attach_start_time = j.value("attach_start_time", 0ull);
    // (a record from before the flag: its engine mapped host loopback)
    r.attach_host_loopback = j.value("attach_host_loopback", true);
    return r;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

void stop(pid_t pid) { kill_process(pid); }
bool verify(pid_t pid, unsigned long long start, const char* comm) { return is_live_process(pid, start, comm); }

}  // namespace

NsTarget RootlessNetns::target() const {
  NsTarget t;
  t.pid = pid;
  return t;
}

std::optional<RootlessNetns> find_rootless_netns(const Paths& p) {
  auto r = load_record(p);
  bool missing = false;
  if (!r) {
    (void)read_file(p.netns_record(), &missing);
    if (!missing) {
      LOG_WARN("removing unreadable rootless netns record %s", p.netns_record().c_str());
      ::unlink(p.netns_record().c_str());
    }
    return std::nullopt;
  }
  if (!verify(r->pid, r->start_time, kHolderName)) {
    LOG_WARN("rootless netns holder pid %d is gone; removing the stale record", static_cast<int>(r->pid));
    if (r->attach_pid && verify(r->attach_pid, r->attach_start_time, nullptr)) stop(r->attach_pid);
    stop_dns(p);  // it may keep the old network namespace alive
    ::unlink(p.netns_record().c_str());
    return std::nullopt;
  }
  return r;
}

Expected<RootlessNetns, std::string> ensure_rootless_netns(const Paths& p, bool host_loopback, bool* created) {
  if (created) *created = false;
  if (auto r = find_rootless_netns(p)) {
    // The holder lives; the engine may have died (crash, OOM, kill), or lack
    // host loopback that a network now needs: start a new one. Its forwards
    // are gone with it; reconcile publishes them again.
    bool alive = r->attach_pid && verify(r->attach_pid, r->attach_start_time, nullptr);
    bool enough = r->attach_host_loopback || !host_loopback;
    if (alive && enough) return *r;
    if (alive) {
      LOG_INFO("a network allows host loopback: restarting the rootless netns' outward engine (pid %d) with it",
               static_cast<int>(r->attach_pid));
      stop(r->attach_pid);
      // Its tap and listening sockets go when it is gone, and its clean-up
      // helper then removes its API socket: wait for both (bounded), so the
      // new engine makes its own and the helper cannot remove that one.
      for (int i = 0; i < 60 && verify(r->attach_pid, r->attach_start_time, nullptr); ++i) ::usleep(50 * 1000);
      struct stat st {};
      for (int i = 0; i < 20 && ::lstat(p.attach_socket().c_str(), &st) == 0; ++i) ::usleep(50 * 1000);
    } else {
      LOG_WARN("the rootless netns' outward engine (pid %d) is gone; starting a new one",
               static_cast<int>(r->attach_pid));
    }
    r->attach_host_loopback = host_loopback;
    r->attach_pid = spawn_attach(p, r->pid, r->attach_host_loopback);
    r->attach_start_time = 0;
    if (r->attach_pid)
      if (auto ast = process_start_time(r->attach_pid)) r->attach_start_time = *ast;
    if (auto s = save_record(p, *r); !s) return unexpected(s.error());
    return *r;
  }
  if (auto d = ensure_dir(p.runtime_dir); !d) return unexpected(d.error());
  auto h = spawn_holder();
  if (!h) return unexpected(h.error());
  RootlessNetns r;
  r.pid = h->pid;
  auto st = process_start_time(r.pid);
  if (!st) {
    stop(r.pid);
    return unexpected(std::string("the rootless netns holder exited right after starting"));
  }
  r.start_time = *st;
  LOG_INFO("created the rootless netns (holder pid %d, %s)", static_cast<int>(r.pid), r.net_path().c_str());
  crash_point("netns-before-attach");
  r.attach_host_loopback = host_loopback;
  r.attach_pid = spawn_attach(p, r.pid, host_loopback);
  if (r.attach_pid) {
    if (auto ast = process_start_time(r.attach_pid)) r.attach_start_time = *ast;
  }
  crash_point("netns-before-record");
  if (auto s = save_record(p, r); !s) {
    if (r.attach_pid) stop(r.attach_pid);
    stop(r.pid);
    return unexpected(s.error());
  }
  // Recorded: from now on the holder stays until remove_rootless_netns().
  if (::write(h->commit.get(), "C", 1) != 1) {
    ::unlink(p.netns_record().c_str());
    return unexpected(std::string("the rootless netns holder died while starting"));
  }
  if (created) *created = true;
  return r;
}

void remove_rootless_netns(const Paths& p) {
  stop_dns(p);
  auto r = load_record(p);
  if (r) {
    if (r->attach_pid && verify(r->attach_pid, r->attach_start_time, nullptr)) stop(r->attach_pid);
    if (verify(r->pid, r->start_time, kHolderName)) {
      stop(r->pid);
      LOG_INFO("removed the rootless netns (holder pid %d)", static_cast<int>(r->pid));
    }
  }
  ::unlink(p.netns_record().c_str());
}

}  // namespace netd::bridge
