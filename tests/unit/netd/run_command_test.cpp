// run_command: output and status of real short-lived programs, a program
// that is not there, one that does not finish, and one that leaves a
// process behind holding its output pipe.
#include <signal.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <string>

#include "netd/run_command.h"

namespace netd {
namespace {

TEST(RunCommand, OutputErrorsAndStatus) {
  auto r = run_command({"sh", "-c", "echo out; echo err >&2; exit 3"}, 10000);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->status, 3);
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
}

TEST(RunCommand, KilledBySignal) {
  auto r = run_command({"sh", "-c", "kill -TERM $$"}, 10000);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->status, 128 + SIGTERM);
}

TEST(RunCommand, MissingProgramIsNotRun) {
  int exec_errno = 0;
  auto r = run_command({"netd-test-no-such-program"}, 10000, &exec_errno);
  ASSERT_FALSE(r);
  EXPECT_EQ(exec_errno, ENOENT);
  EXPECT_NE(r.error().find("netd-test-no-such-program"), std::string::npos) << r.error();
  EXPECT_FALSE(run_command({}, 1000));
}

TEST(RunCommand, DeadlineKillsTheProgram) {
  auto start = std::chrono::steady_clock::now();
  auto r = run_command({"sleep", "20"}, 300);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("no answer"), std::string::npos) << r.error();
  EXPECT_LT(took, std::chrono::seconds(5));
}

// A program that exits while a process it started still holds stdout open
// (as rootless podman's pause process can): the exit ends the wait.
TEST(RunCommand, ExitEndsTheWaitThoughAPipeStaysOpen) {
  auto start = std::chrono::steady_clock::now();
  auto r = run_command({"sh", "-c", "sleep 30 & echo $!"}, 20000);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->status, 0);
  EXPECT_LT(took, std::chrono::seconds(10));
  int left = std::stoi(r->out);  // the sleep it left: ended here, by its pid
  ASSERT_GT(left, 1);
  EXPECT_EQ(::kill(left, SIGKILL), 0);
}

TEST(RunCommand, LargeOutputIsCappedNotBlocking) {
  auto r = run_command({"sh", "-c", "head -c 6000000 /dev/zero"}, 20000);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->status, 0);
  EXPECT_GE(r->out.size(), 4u << 20);
  EXPECT_LT(r->out.size(), 6000000u);
}

}  // namespace
}  // namespace netd
