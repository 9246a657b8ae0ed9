// The seccomp allow-list, applied in forked children: allowed calls work,
// a call off the list stops the process with SIGSYS and a line naming it,
// argument limits hold (sockets, clone), and docs/security.md lists exactly
// the rules of the filter, with the same reasons, in the same order.
#include "common/seccomp_filter.h"

#include <fcntl.h>
#include <linux/io_uring.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/sandbox.h"

namespace netd {
namespace {

struct ChildResult {
  int status = -1;  // exit status, or 128 + signal
  std::string err;  // what it wrote to stderr
};

// Runs `fn` in a child with the seccomp filter on (no isolation, so this
// runs anywhere); `fn` returns the exit status.
template <class Fn>
ChildResult with_filter(Fn fn, SeccompProcess process = kSeccompAttach) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return {};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(p[1], STDERR_FILENO);
    if (!enter_sandbox(SandboxOptions{false, true, process, {}})) ::_exit(99);
    ::_exit(fn());
  }
  ::close(p[1]);
  ChildResult r;
  char buf[512];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof buf)) > 0) r.err.append(buf, static_cast<size_t>(n));
  ::close(p[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

TEST(Seccomp, AllowedCallsWork) {
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer's runtime makes calls netd itself never does
  // (sched_getaffinity, sigaltstack); the filter is for the real binary.
  GTEST_SKIP() << "not under AddressSanitizer";
#endif
  auto r = with_filter([] {
    int u = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int t = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (u < 0 || t < 0) return 1;
    ::close(u);
    ::close(t);
    int ran = 0;
    std::thread th([&] { ran = 1; });  // clone3 refused -> clone with CLONE_THREAD
    th.join();
    return ran ? 0 : 2;
  });
  EXPECT_EQ(r.status, 0) << r.err;
}

TEST(Seccomp, BlockedCallIsNamedAndStopsTheProcess) {
  auto r = with_filter([] {
    utsname u{};
    ::syscall(SYS_uname, &u);
    return 0;
  });
  EXPECT_EQ(r.status, 128 + SIGSYS);
  EXPECT_NE(r.err.find("seccomp: blocked system call uname ("), std::string::npos) << r.err;
}

TEST(Seccomp, OnlyInternetSockets) {
  auto r = with_filter([] { return ::socket(AF_PACKET, SOCK_RAW, 0) >= 0 ? 1 : 2; });
  EXPECT_EQ(r.status, 128 + SIGSYS);
  EXPECT_NE(r.err.find("blocked system call socket"), std::string::npos) << r.err;
  r = with_filter([] { return ::socket(AF_UNIX, SOCK_STREAM, 0) >= 0 ? 1 : 2; });
  EXPECT_EQ(r.status, 128 + SIGSYS) << r.err;
}

TEST(Seccomp, NoNewProcesses) {
  auto r = with_filter([] {
    pid_t p = ::fork();  // clone without CLONE_THREAD
    if (p == 0) ::_exit(0);
    return 3;
  });
  EXPECT_EQ(r.status, 128 + SIGSYS);
  EXPECT_NE(r.err.find("blocked system call clone"), std::string::npos) << r.err;
}

TEST(Seccomp, SignalsOnlyToItself) {
  pid_t test_runner = ::getpid();  // the child's parent
  auto r = with_filter([test_runner] { return ::kill(test_runner, 0) == 0 ? 1 : 2; });
  EXPECT_EQ(r.status, 128 + SIGSYS);
  EXPECT_NE(r.err.find("blocked system call kill"), std::string::npos) << r.err;
}

// Rows of docs/security.md's table: | `name` | processes | reason |
TEST(Seccomp, DocumentedRuleForRule) {
  std::ifstream in(std::string(NETD_SOURCE_DIR) + "/docs/security.md");
  ASSERT_TRUE(in) << "docs/security.md missing";
  std::regex row(R"(^\| `([a-z0-9_]+)` \| ([a-z, ]+) \| (.+) \|$)");
  struct DocRow {
    std::string name, processes, reason;
  };
  std::vector<DocRow> doc;
  std::string line;
  bool in_table = false;
  while (std::getline(in, line)) {
    if (line.find("<!-- seccomp-table -->") != std::string::npos) in_table = !in_table;
    std::smatch m;
    if (in_table && std::regex_match(line, m, row)) doc.push_back({m[1], m[2], m[3]});
  }
  auto rules = seccomp_rules();
  ASSERT_EQ(doc.size(), rules.size()) << "docs/security.md's seccomp table and common/seccomp_filter.cpp differ";
  for (size_t i = 0; i < rules.size(); ++i) {
    EXPECT_EQ(doc[i].name, rules[i].name) << "row " << i;
    EXPECT_EQ(doc[i].processes, seccomp_processes_text(rules[i].processes)) << rules[i].name;
    EXPECT_EQ(doc[i].reason, rules[i].reason) << rules[i].name;
  }
}

// No process may make a new io_uring ring once its filter is in place: the
// rings are made, and restricted, before the sandbox.
TEST(Seccomp, NoNewRingsAfterTheSandbox) {
  for (const SeccompRule& r : seccomp_rules()) EXPECT_STRNE(r.name, "io_uring_setup");
  auto r = with_filter([] {
    io_uring_params p{};
    ::syscall(__NR_io_uring_setup, 4, &p);
    return 0;
  });
  EXPECT_EQ(r.status, 128 + SIGSYS);
  EXPECT_NE(r.err.find("blocked system call io_uring_setup"), std::string::npos) << r.err;
}

// Each process's list is its own: netd forward makes no sockets of its own
// (its namespace helper does), so socket() is off its list.
TEST(Seccomp, EachProcessHasItsOwnList) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "not under AddressSanitizer (its runtime calls sigaltstack, which no list allows)";
#endif
  auto r = with_filter(
      [] { return ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0) >= 0 ? 0 : 1; }, kSeccompForward);
  EXPECT_EQ(r.status, 128 + SIGSYS);
  EXPECT_NE(r.err.find("blocked system call socket"), std::string::npos) << r.err;
  r = with_filter([] { return ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0) >= 0 ? 0 : 1; }, kSeccompDns);
  EXPECT_EQ(r.status, 0) << r.err;
}

}  // namespace
}  // namespace netd
