// The sandbox, checked from inside a forked child (enter_sandbox changes the
// whole process for good): empty read-only root, no capabilities,
// no_new_privs; refused once threads run. Each child reports its checks as
// bits of its exit status.
#include "common/sandbox.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "unit/common/temp_dir.h"

namespace netd {
namespace {

constexpr int kSkip = 100;  // the machine allows no user namespaces: not a failure

// Runs `fn` in a child; returns its exit status (or 128+signal).
template <class Fn>
int in_child(Fn fn) {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(fn());
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int entries_in_root() {
  DIR* d = ::opendir("/");
  if (!d) return -1;
  int n = 0;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") ++n;
  }
  ::closedir(d);
  return n;
}

TEST(Sandbox, EmptyReadOnlyRootWithoutCapabilities) {
  int rc = in_child([] {
    auto r = enter_sandbox(SandboxOptions{true, false});
    if (!r) return r.error().find("user namespace") != std::string::npos ? kSkip : 99;
    int bad = 0;
    if (entries_in_root() != 0) bad |= 1;
    struct statvfs sv {};
    if (::statvfs("/", &sv) != 0 || !(sv.f_flag & ST_RDONLY)) bad |= 2;
    if (::mkdir("/x", 0700) == 0) bad |= 4;
    if (::access("/etc/passwd", F_OK) == 0 || ::access("/proc/self", F_OK) == 0) bad |= 8;
    if (::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) bad |= 16;
    if (::prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 0) bad |= 32;
    __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct d[2]{};
    if (::syscall(SYS_capget, &h, d) != 0 || d[0].effective & (1u << CAP_SYS_ADMIN) ||
        d[0].effective & (1u << CAP_NET_RAW) || d[1].effective != 0)
      bad |= 64;
    return bad;
  });
  if (rc == kSkip) GTEST_SKIP() << "no user namespaces here";
  EXPECT_EQ(rc, 0) << "bits: 1 root not empty, 2 not read-only, 4 writable, 8 host files visible, "
                      "16 no no_new_privs, 32 bounding set kept, 64 capabilities kept";
}

// netd dns keeps its configuration directory: that directory (read-write,
// at its own path, under /tmp where the new root is mounted) and a kept
// file, nothing beside them.
TEST(Sandbox, KeptPathsAreTheOnlyOnes) {
  testing::TempDir dir;
  dir.make("net1");
  testing::TempDir other;
  std::string kept_file = other.make("resolv.conf");
  std::string hidden = other.make("secret");
  int rc = in_child([&] {
    auto r = enter_sandbox(SandboxOptions{true, false, kSeccompDns, {dir.path, kept_file}});
    if (!r) return r.error().find("user namespace") != std::string::npos ? kSkip : 99;
    int bad = 0;
    if (entries_in_root() != 1) bad |= 1;  // "tmp", holding both
    if (::access((dir.path + "/net1").c_str(), R_OK) != 0) bad |= 2;
    int fd = ::open((dir.path + "/aardvark.pid").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) bad |= 4;
    else ::close(fd);
    if (::unlink((dir.path + "/aardvark.pid").c_str()) != 0) bad |= 4;
    if (::access(kept_file.c_str(), R_OK) != 0) bad |= 8;
    if (::access(hidden.c_str(), F_OK) == 0 || ::access("/etc/passwd", F_OK) == 0) bad |= 16;
    if (::mkdir("/tmp/x", 0700) == 0) bad |= 32;
    return bad;
  });
  if (rc == kSkip) GTEST_SKIP() << "no user namespaces here";
  EXPECT_EQ(rc, 0) << "bits: 1 root holds more, 2 kept dir unreadable, 4 kept dir not writable, 8 kept file "
                      "missing, 16 other files visible, 32 new root writable";
}

TEST(Sandbox, RefusedOnceAThreadRuns) {
  int rc = in_child([] {
    std::thread t([] { std::this_thread::sleep_for(std::chrono::milliseconds(300)); });
    auto r = enter_sandbox(SandboxOptions{true, false});
    t.join();
    if (r) return 1;
    return r.error().find("threads") != std::string::npos ? 0 : 2;
  });
  EXPECT_EQ(rc, 0);
}

TEST(Sandbox, DisabledChangesNothing) {
  int rc = in_child([] {
    int before = entries_in_root();
    auto r = enter_sandbox(SandboxOptions{false, false});
    return r && entries_in_root() == before && before > 0 ? 0 : 1;
  });
  EXPECT_EQ(rc, 0);
}

}  // namespace
}  // namespace netd
