// The seccomp allow-list (see seccomp_filter.h for the theory of operation).
//
// Adding a system call: append it to kRules with the processes that need it
// and the reason (what calls it, and why it cannot happen before the
// sandbox), then add the same row to the table in docs/security.md;
// unit_common checks they match.
#include "common/seccomp_filter.h"

#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

namespace netd {
namespace {

// How a rule narrows its system call.
enum class Limit {
  None,        // allowed with any arguments
  InetSocket,  // socket(): AF_INET or AF_INET6 only
  Thread,      // clone(): CLONE_THREAD set, i.e. a thread, never a process
  OwnProcess,  // tgkill(): the first argument is our pid
  Ioctl,       // ioctl(): FIONBIO and FIONREAD only
  Enosys,      // not allowed: fails with ENOSYS (callers have a fallback)
  Enoent,      // not allowed: fails with ENOENT, as it would in the empty root
};

struct Rule {
  SeccompRule r;
  Limit limit;
};

// The order and the reasons are those of docs/security.md.
constexpr Rule kRules[] = {
    // Memory.
    {{"brk", kSeccompAll, "malloc grows the heap"}, Limit::None},
    {{"mmap", kSeccompAll, "malloc's large blocks and arenas, thread stacks, io_uring rings"}, Limit::None},
    {{"munmap", kSeccompAll, "freeing what mmap mapped"}, Limit::None},
    {{"mremap", kSeccompAll, "realloc of large blocks"}, Limit::None},
    {{"mprotect", kSeccompAll, "guard pages of new thread stacks, malloc arenas"}, Limit::None},
    {{"madvise", kSeccompAll, "malloc and thread exit give unused memory back"}, Limit::None},
    // Threads (attach: the API server, pasta's port scan and pesto).
    {{"clone", kSeccompAttach, "std::thread: only with CLONE_THREAD, so no new process can be made"}, Limit::Thread},
    {{"clone3", kSeccompAttach, "refused with ENOSYS (its flags are behind a pointer seccomp cannot read): glibc then uses clone"}, Limit::Enosys},
    {{"set_robust_list", kSeccompAttach, "glibc registers it for every new thread"}, Limit::None},
    {{"rseq", kSeccompAttach, "glibc registers it for every new thread"}, Limit::None},
    {{"futex", kSeccompAll, "mutexes, condition variables, thread joins"}, Limit::None},
    {{"sched_yield", kSeccompAll, "lock back-off in the C++ runtime"}, Limit::None},
    {{"exit", kSeccompAttach, "a thread ends"}, Limit::None},
    {{"exit_group", kSeccompAll, "the process ends"}, Limit::None},
    {{"gettid", kSeccompAll, "the SIGSYS handler signals its own thread"}, Limit::None},
    {{"getpid", kSeccompAll, "the SIGSYS handler signals its own thread; log lines and temporary file names carry the pid"}, Limit::None},
    {{"wait4", kSeccompAttach, "pasta with a command: netd waits for the command it started before the sandbox"}, Limit::None},
    // Signals.
    {{"rt_sigaction", kSeccompAll, "SIGPIPE ignored, the SIGSYS handler"}, Limit::None},
    {{"rt_sigprocmask", kSeccompAll, "threads start with the stop signals blocked (the data plane's signalfd takes them)"}, Limit::None},
    {{"rt_sigreturn", kSeccompAll, "return from a signal handler"}, Limit::None},
    {{"restart_syscall", kSeccompAll, "a wait interrupted by a signal resumes"}, Limit::None},
    {{"tgkill", kSeccompAll, "the SIGSYS handler ends the process with SIGSYS: only within netd's own pid"}, Limit::OwnProcess},
    // Time.
    {{"clock_gettime", kSeccompAll, "deadlines and timers (when the vDSO cannot answer)"}, Limit::None},
    {{"gettimeofday", kSeccompAll, "the C library's clock (when the vDSO cannot answer)"}, Limit::None},
    {{"clock_nanosleep", kSeccompAll, "bounded waits (std::this_thread::sleep_for)"}, Limit::None},
    {{"nanosleep", kSeccompAll, "bounded waits"}, Limit::None},
    // File descriptors netd already holds.
    {{"read", kSeccompAll, "the tap, signalfd, eventfds, the API and exit fds"}, Limit::None},
    {{"write", kSeccompAll, "the tap, eventfds, the API socket, log lines on stderr"}, Limit::None},
    {{"readv", kSeccompAttach | kSeccompDns, "socket reads of the DNS upstream library"}, Limit::None},
    {{"writev", kSeccompAttach | kSeccompDns, "frames with a virtio-net header to the tap; DNS over TCP upstream"}, Limit::None},
    {{"close", kSeccompAll, "sockets, pipes and fds of ended flows"}, Limit::None},
    {{"dup2", kSeccompAttach, "pasta, once ready: stdio onto the /dev/null opened before the sandbox"}, Limit::None},
    {{"fcntl", kSeccompAll, "O_NONBLOCK on new sockets; the pipes' size (forward)"}, Limit::None},
    {{"ioctl", kSeccompAttach | kSeccompDns, "FIONBIO and FIONREAD only: the API server's and the DNS server's non-blocking mode and readable bytes"}, Limit::Ioctl},
    {{"lseek", kSeccompAttach | kSeccompDns, "pasta's port scan re-reads the namespace's /proc/net files it opened before the sandbox; the DNS upstream library (c-ares >= 1.34) reads its configuration files for each new upstream channel"}, Limit::None},
    {{"pipe2", kSeccompAttach | kSeccompForward, "a pipe per forwarded connection direction (splice moves bytes through it): netd forward, pasta's -T/-U"}, Limit::None},
    {{"splice", kSeccompAttach | kSeccompForward, "forwarded bytes (netd forward, pasta's -T/-U) where io_uring is refused (common/epoll_loop.h)"}, Limit::None},
    {{"eventfd2", kSeccompAttach, "wake-ups between threads (API server, data plane, pasta's port scan and pesto)"}, Limit::None},
    {{"epoll_create1", kSeccompAttach, "the API server's event loop (Boost.Asio)"}, Limit::None},
    {{"epoll_ctl", kSeccompAll, "the API and DNS servers' event loops (Boost.Asio), and the data plane's where io_uring is refused (common/epoll_loop.h)"}, Limit::None},
    {{"epoll_wait", kSeccompAll, "the API and DNS servers' event loops, and the data plane's where io_uring is refused"}, Limit::None},
    {{"epoll_pwait", kSeccompAttach | kSeccompDns, "the API and DNS servers' event loops"}, Limit::None},
    {{"timerfd_create", kSeccompAttach, "the API server's timers"}, Limit::None},
    {{"timerfd_settime", kSeccompAttach | kSeccompDns, "the API server's timers; the DNS server's upstream deadlines"}, Limit::None},
    {{"poll", kSeccompAll, "the exit clean-up helper's answer; the DNS upstream library; whether a non-blocking connect finished at once"}, Limit::None},
    {{"ppoll", kSeccompAttach | kSeccompDns, "waits on a few fds in the C library"}, Limit::None},
    {{"getrandom", kSeccompAttach | kSeccompDns, "DNS query ids and hash seeds"}, Limit::None},
    {{"uname", kSeccompDns, "the DNS upstream library reads the host name (gethostname) for each new upstream channel"}, Limit::None},
    {{"openat", kSeccompAttach | kSeccompForward, "refused with ENOENT, as the empty root would answer: the C library looks for optional files (message catalogs for error texts) on error paths"}, Limit::Enoent},
    // The DNS server's configuration directory (the one directory in its root).
    {{"openat", kSeccompDns, "SIGHUP re-reads the configuration directory (and resolv.conf), the only files in its root"}, Limit::None},
    {{"newfstatat", kSeccompDns, "the directory listing's file types and sizes"}, Limit::None},
    {{"fstat", kSeccompDns, "the size of a configuration file being read"}, Limit::None},
    {{"getdents64", kSeccompDns, "listing the configuration directory"}, Limit::None},
    {{"unlink", kSeccompDns, "removing the pid file at exit"}, Limit::None},
    {{"fsync", kSeccompDns, "native mode: the reload acknowledgement reaches the disk before it is renamed into place"}, Limit::None},
    {{"rename", kSeccompDns, "native mode: the reload acknowledgement is written to a temporary file and renamed"}, Limit::None},
    // Sockets: every translated flow, published port and DNS query is one.
    {{"socket", kSeccompAttach | kSeccompDns, "host sockets for flows, ports and DNS: AF_INET and AF_INET6 only"}, Limit::InetSocket},
    {{"connect", kSeccompAttach | kSeccompDns, "host sockets of guest flows and DNS upstreams"}, Limit::None},
    {{"bind", kSeccompAttach | kSeccompDns, "ports published through the API; the --outbound-addr source of guest flows and DNS; the DNS server's new listen addresses after a reload"}, Limit::None},
    {{"listen", kSeccompAttach | kSeccompDns, "ports published through the API; the DNS server's new TCP listeners"}, Limit::None},
    {{"accept", kSeccompAttach | kSeccompDns, "connections to the API socket and to the DNS server's TCP port (Boost.Asio)"}, Limit::None},
    {{"accept4", kSeccompAll, "connections to published and forwarded ports"}, Limit::None},
    {{"getsockname", kSeccompAll, "the address a socket got"}, Limit::None},
    {{"getpeername", kSeccompAll, "a published port's client address, passed on to the guest; a forwarded connection's client, for the log"}, Limit::None},
    {{"setsockopt", kSeccompAll, "TCP_NODELAY, SO_LINGER (resets), buffer sizes, IP_BIND_ADDRESS_NO_PORT (--outbound-addr)"}, Limit::None},
    {{"getsockopt", kSeccompAll, "SO_ERROR after a non-blocking connect"}, Limit::None},
    {{"shutdown", kSeccompAll, "half-close (FIN) of a translated or forwarded TCP connection"}, Limit::None},
    {{"sendto", kSeccompAll, "UDP and ping datagrams, DNS queries and answers, replies from published UDP ports"}, Limit::None},
    {{"recvfrom", kSeccompAll, "TCP receives tried at once, DNS queries and answers, datagrams to published UDP ports"}, Limit::None},
    {{"sendmsg", kSeccompAll, "datagrams with ancillary data; requests to the namespace helper"}, Limit::None},
    {{"recvmsg", kSeccompAll, "datagrams with their source; fds from the namespace helper"}, Limit::None},
    {{"sendmmsg", kSeccompAttach | kSeccompDns, "batched datagrams: UDP flows; the DNS server's immediate answers"}, Limit::None},
    {{"recvmmsg", kSeccompAttach | kSeccompDns, "batched datagrams: UDP flows; the DNS server's queries"}, Limit::None},
    // io_uring: the data planes' rings (created before the sandbox; io_uring_setup is not on the list, so no ring can be made after it).
    {{"io_uring_enter", kSeccompAttach | kSeccompForward, "submitting to and waiting on the rings"}, Limit::None},
    {{"io_uring_register", kSeccompAttach, "provided-buffer rings of new sockets (the ring's own allow-list admits nothing else); pasta's -T/-U forwarder enables its ring from its own thread, its single issuer"}, Limit::None},
};

// Names of every system call number, resolved before the filter is live so
// the SIGSYS handler can name the culprit without allocating.
constexpr int kMaxSyscall = 1024;
const char* g_names[kMaxSyscall];

// Appends `s` to buf[*len..cap) (async-signal-safe).
void append(char* buf, size_t cap, size_t* len, const char* s) {
  while (*s && *len + 1 < cap) buf[(*len)++] = *s++;
}
void append_number(char* buf, size_t cap, size_t* len, long v) {
  char digits[24];
  int n = 0;
  unsigned long u = v < 0 ? static_cast<unsigned long>(-v) : static_cast<unsigned long>(v);
  do {
    digits[n++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u && n < 23);
  if (v < 0) append(buf, cap, len, "-");
  while (n > 0 && *len + 1 < cap) buf[(*len)++] = digits[--n];
}

void on_sigsys(int, siginfo_t* si, void*) {
  int nr = si->si_syscall;
  const char* name = nr >= 0 && nr < kMaxSyscall && g_names[nr] ? g_names[nr] : "unknown";
  char buf[384];
  size_t len = 0;
  append(buf, sizeof buf, &len, "netd[error]: seccomp: blocked system call ");
  append(buf, sizeof buf, &len, name);
  append(buf, sizeof buf, &len, " (");
  append_number(buf, sizeof buf, &len, nr);
  append(buf, sizeof buf, &len,
         "); stopping. If netd needs it, add it with its reason to common/seccomp_filter.cpp and "
         "docs/security.md (or run without seccomp)\n");
  (void)!::write(STDERR_FILENO, buf, len);
  // SA_RESETHAND made SIGSYS's action the default again: die of it.
  ::syscall(SYS_tgkill, ::getpid(), ::syscall(SYS_gettid), SIGSYS);
  ::_exit(128 + SIGSYS);
}

int add_rule(scmp_filter_ctx ctx, const Rule& rule) {
  int nr = seccomp_syscall_resolve_name(rule.r.name);
  if (nr == __NR_SCMP_ERROR) return -ENOENT;
  switch (rule.limit) {
    case Limit::None: return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
    case Limit::Enosys: return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
    case Limit::Enoent: return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOENT), nr, 0);
    case Limit::Thread:
      return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
    case Limit::OwnProcess:
      return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
                              SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(::getpid())));
    case Limit::InetSocket: {
      int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A0(SCMP_CMP_EQ, AF_INET));
      return rc ? rc : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A0(SCMP_CMP_EQ, AF_INET6));
    }
    case Limit::Ioctl: {
      int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A1(SCMP_CMP_EQ, FIONBIO));
      return rc ? rc : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A1(SCMP_CMP_EQ, FIONREAD));
    }
  }
  return -EINVAL;
}

}  // namespace

std::string seccomp_processes_text(unsigned processes) {
  if (processes == kSeccompAll) return "all";
  std::string out;
  for (auto [bit, name] : {std::pair{kSeccompAttach, "attach"}, std::pair{kSeccompForward, "forward"}, std::pair{kSeccompDns, "dns"}}) {
    if (!(processes & bit)) continue;
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

std::span<const SeccompRule> seccomp_rules() {
  static const auto table = [] {
    std::array<SeccompRule, std::size(kRules)> t{};
    for (size_t i = 0; i < std::size(kRules); ++i) t[i] = kRules[i].r;
    return t;
  }();
  return table;
}

Expected<void, std::string> install_seccomp_filter(SeccompProcess process) {
  for (int nr = 0; nr < kMaxSyscall; ++nr) {
    if (!g_names[nr]) g_names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);  // kept for life
  }
  struct sigaction sa {};
  sa.sa_sigaction = on_sigsys;
  sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  if (::sigaction(SIGSYS, &sa, nullptr) != 0)
    return unexpected(std::string("seccomp: cannot install the SIGSYS handler: ") + std::strerror(errno));

  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
  if (!ctx) return unexpected(std::string("seccomp: cannot create a filter"));
  for (const Rule& rule : kRules) {
    if (!(rule.r.processes & process)) continue;
    int rc = add_rule(ctx, rule);
    if (rc != 0) {
      seccomp_release(ctx);
      return unexpected(std::string("seccomp: cannot add ") + rule.r.name + ": " + std::strerror(-rc));
    }
  }
  int rc = seccomp_load(ctx);
  seccomp_release(ctx);
  if (rc != 0) return unexpected(std::string("seccomp: cannot load the filter: ") + std::strerror(-rc));
  return {};
}

}  // namespace netd
