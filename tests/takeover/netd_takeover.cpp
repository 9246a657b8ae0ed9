// netd-takeover: `netd attach` (or `netd dns`) with a payload that plays a
// process which has taken over netd, for tests/integration/test_takeover.sh.
// Built with the tests only (tests/CMakeLists.txt), never installed: netd
// itself has no way to run a payload (dns's hook, cmd::dns_after_sandbox,
// is a function pointer only this binary sets).
//
// Theory of operation: the arguments are netd attach's, parsed by the same
// code, and run_attach() starts the same engine, so everything up to the
// payload is what `netd attach` does: the tap, the ring (restricted), the
// published ports, the sandbox and the seccomp filter. The payload runs
// where an attacker who took over netd's data plane thread would: on that
// thread, after the sandbox is up (an AttachExtension's start()). In the dns
// mode the real `netd dns` runs and calls the payload from its hook right
// after entering its sandbox (without the ring attempts: it has no ring).
// It tries
// each attempt below, prints one line per attempt
//   attempt NAME: refused (HOW)     or     attempt NAME: ALLOWED (WHAT)
// and exits 0 without serving; the test counts the lines.
//
// Seccomp's answer to a call off the list is SIGSYS, which would end the
// process at the first attempt: the payload catches SIGSYS itself (as an
// attacker could: rt_sigaction is on the list) and jumps back, reporting the
// system call the filter stopped.
#include <fcntl.h>
#include <liburing.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "common/log.h"
#include "common/uring.h"
#include "netd/attach_runner.h"
#include "netd/cli_parse.h"
#include "netd/commands.h"
#include "tap/dataplane.h"

namespace {

sigjmp_buf g_jump;
volatile sig_atomic_t g_blocked_nr = -1;

void on_sigsys(int, siginfo_t* si, void*) {
  g_blocked_nr = si->si_syscall;
  siglongjmp(g_jump, 1);
}

// One line on stdout with write(2): stdio's first use of a stream makes a
// system call (fstat) that seccomp does not allow.
__attribute__((format(printf, 1, 2))) void say(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n > 0) (void)!::write(STDOUT_FILENO, buf, std::min(static_cast<size_t>(n), sizeof buf - 1));
}

struct Tally {
  int refused = 0, allowed = 0;
};

void report(Tally& t, const char* name, bool refused, const std::string& how) {
  say("attempt %s: %s (%s)\n", name, refused ? "refused" : "ALLOWED", how.c_str());
  (refused ? t.refused : t.allowed)++;
}

// Runs `attempt` (returns >= 0 on success or -errno); a SIGSYS from the
// filter counts as refused.
template <class Fn>
void attempt(Tally& t, const char* name, Fn fn) {
  g_blocked_nr = -1;
  if (sigsetjmp(g_jump, 1) != 0) {
    report(t, name, true, "seccomp: SIGSYS for system call " + std::to_string(g_blocked_nr));
    return;
  }
  long rc = fn();
  if (rc >= 0) report(t, name, false, "returned " + std::to_string(rc));
  else report(t, name, true, std::string(std::strerror(static_cast<int>(-rc))));
}

long sys_result(long rc) { return rc < 0 ? -errno : rc; }

// One SQE on netd's own ring; its completion's result.
template <class Prep>
long on_ring(netd::loop::EventLoop& l, Prep prep) {
  auto* u = dynamic_cast<netd::loop::UringLoop*>(&l);
  if (!u) return -ENXIO;  // the epoll loop: there is no ring to use
  io_uring* ring = u->ring_for_tests();
  io_uring_sqe* s = io_uring_get_sqe(ring);
  if (!s) return -EBUSY;
  prep(s);
  io_uring_sqe_set_data64(s, 0);  // handler 0: nobody's completion
  int rc = io_uring_submit(ring);
  if (rc < 0) return rc;
  // The loop's own requests complete here too: look for ours.
  for (int i = 0; i < 64; ++i) {
    io_uring_cqe* cqe = nullptr;
    __kernel_timespec ts{1, 0};
    if (io_uring_wait_cqe_timeout(ring, &cqe, &ts) != 0) return -ETIME;
    uint64_t data = cqe->user_data;
    int res = cqe->res;
    io_uring_cqe_seen(ring, cqe);
    if (data == 0) return res;
  }
  return -ETIME;
}

// The attempts; those on the ring only with `loop` (netd dns has none).
[[noreturn]] void payload(netd::loop::EventLoop* loop, const char* unix_path) {
  struct sigaction sa {};
  sa.sa_sigaction = on_sigsys;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGSYS, &sa, nullptr);

  Tally t;
  say("payload: running after the sandbox, loop %s\n", loop ? loop->name() : "none");
  if (loop) {
    netd::loop::EventLoop& l = *loop;
    attempt(t, "io_uring-socket-unix", [&] {
      long fd = on_ring(l, [](io_uring_sqe* s) { io_uring_prep_socket(s, AF_UNIX, SOCK_STREAM, 0, 0); });
      if (fd >= 0) ::close(static_cast<int>(fd));
      return fd;
    });
    attempt(t, "io_uring-socket-netlink", [&] {
      return on_ring(l, [](io_uring_sqe* s) { io_uring_prep_socket(s, AF_NETLINK, SOCK_RAW, 0, 0); });
    });
    attempt(t, "io_uring-openat-proc-1", [&] {
      return on_ring(l, [](io_uring_sqe* s) { io_uring_prep_openat(s, AT_FDCWD, "/proc/1/status", O_RDONLY, 0); });
    });
    attempt(t, "io_uring-register-probe", [&] {
      auto* u = dynamic_cast<netd::loop::UringLoop*>(&l);
      if (!u) return -ENXIO;
      io_uring_probe* p = io_uring_get_probe_ring(u->ring_for_tests());
      if (p) io_uring_free_probe(p);
      return p ? 0 : -EACCES;
    });
  }
  attempt(t, "io_uring-setup-new-ring", [] {
    io_uring_params p{};
    return sys_result(::syscall(__NR_io_uring_setup, 4, &p));
  });
  attempt(t, "socket-unix", [] { return sys_result(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)); });
  attempt(t, "connect-unix-socket", [&] {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -static_cast<long>(errno);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::snprintf(sun.sun_path, sizeof sun.sun_path, "%s", unix_path);
    long rc = sys_result(::connect(fd, reinterpret_cast<sockaddr*>(&sun), sizeof sun));
    ::close(fd);
    return rc;
  });
  attempt(t, "open-proc-1-status", [] { return sys_result(::open("/proc/1/status", O_RDONLY | O_CLOEXEC)); });
  attempt(t, "open-etc-passwd", [] { return sys_result(::open("/etc/passwd", O_RDONLY | O_CLOEXEC)); });
  attempt(t, "execve-bin-sh", [] {
    char* argv[] = {const_cast<char*>("/bin/sh"), nullptr};
    return sys_result(::execve("/bin/sh", argv, nullptr));
  });
  attempt(t, "fork", [] {
    pid_t p = ::fork();
    if (p == 0) ::_exit(0);
    return sys_result(p);
  });
  attempt(t, "ptrace-attach-parent", [] { return sys_result(::ptrace(PTRACE_ATTACH, ::getppid(), nullptr, nullptr)); });
  attempt(t, "mount-tmpfs", [] { return sys_result(::mount("x", "/", "tmpfs", 0, nullptr)); });
  attempt(t, "unshare-user-namespace", [] { return sys_result(::unshare(CLONE_NEWUSER)); });
  attempt(t, "setns", [] { return sys_result(::setns(0, CLONE_NEWNET)); });
  say("payload: %d refused, %d allowed\n", t.refused, t.allowed);
  std::_Exit(0);
}

class Takeover final : public netd::AttachExtension {
 public:
  Takeover(netd::tap::Dataplane& dp, std::string unix_path) : dp_(dp), unix_path_(std::move(unix_path)) {}
  netd::Expected<void, std::string> start() override { payload(&dp_.event_loop(), unix_path_.c_str()); }

 private:
  netd::tap::Dataplane& dp_;
  std::string unix_path_;
};

std::string g_unix_path;  // for the dns mode's hook, which takes no argument

}  // namespace

// netd-takeover UNIX_SOCKET_PATH [netd attach arguments...]
// netd-takeover dns UNIX_SOCKET_PATH [netd dns arguments...]
int main(int argc, char** argv) {
  const bool dns = argc > 1 && std::string(argv[1]) == "dns";
  const int skip = dns ? 2 : 1;  // argv[skip] is the UNIX socket's path
  if (argc <= skip) {
    std::fprintf(stderr, "usage: netd-takeover [dns] UNIX_SOCKET_PATH [netd attach|dns arguments...]\n");
    return 2;
  }
  g_unix_path = argv[skip];
  argv[skip] = argv[0];
  if (dns) {
    // The real `netd dns`: the payload runs from its hook once the sandbox is up.
    netd::cmd::dns_after_sandbox = [] { payload(nullptr, g_unix_path.c_str()); };
    return netd::cmd::dns(argc - skip, argv + skip);
  }
  auto p = netd::cli::parse_attach_args(argc - skip, argv + skip, std::cout, std::cerr);
  if (p.exit_status) return *p.exit_status;
  netd::log::set_level(p.level);
  std::string unix_path = g_unix_path;
  p.cfg.extend = [unix_path](netd::tap::Dataplane& dp, const netd::tap::StackConfig&, netd::portfwd::ControlQueue&)
      -> netd::Expected<std::unique_ptr<netd::AttachExtension>, std::string> {
    return std::unique_ptr<netd::AttachExtension>(new Takeover(dp, unix_path));
  };
  return netd::run_attach(p.cfg);
}
