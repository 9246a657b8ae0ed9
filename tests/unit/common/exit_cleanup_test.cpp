// The exit clean-up helper: removes its files on finish() and when its
// parent dies without asking; leaves a file that replaced one of them.
#include "common/exit_cleanup.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "unit/common/temp_dir.h"

namespace netd {
namespace {

using testing::TempDir;

bool exists(const std::string& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

TEST(ExitCleanup, FinishRemovesTheFilesBeforeReturning) {
  TempDir d;
  auto a = d.make("api.sock"), b = d.make("netd.pid");
  auto c = ExitCleanup::start({a, "", b});
  ASSERT_TRUE(c) << c.error();
  EXPECT_TRUE(exists(a));
  c->finish();
  EXPECT_FALSE(exists(a));
  EXPECT_FALSE(exists(b));
}

TEST(ExitCleanup, KeepsAFileThatReplacedOurs) {
  TempDir d;
  auto a = d.make("api.sock");
  auto c = ExitCleanup::start({a});
  ASSERT_TRUE(c) << c.error();
  ::unlink(a.c_str());
  d.make("other");
  d.make("api.sock");  // a newer instance's file at the same path
  c->finish();
  EXPECT_TRUE(exists(a));
}

TEST(ExitCleanup, RemovesTheFilesWhenItsParentDies) {
  TempDir d;
  auto a = d.make("netd.pid");
  pid_t pid = ::fork();
  if (pid == 0) {
    auto c = ExitCleanup::start({a});
    ::_exit(c ? 0 : 1);  // dies without finish(): the helper sees the hang-up
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  for (int i = 0; i < 100 && exists(a); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(exists(a));
}

TEST(ExitCleanup, MissingPathIsAnError) {
  auto c = ExitCleanup::start({"/nonexistent/netd.pid"});
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().find("/nonexistent/netd.pid"), std::string::npos);
}

}  // namespace
}  // namespace netd
