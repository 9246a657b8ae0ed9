// Pid files and the ready fd: what a supervisor reads, byte for byte, and the
// three ways a wait for the ready byte ends.
#include "common/daemon.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "unit/common/temp_dir.h"

#include "common/files.h"

namespace netd {
namespace {

using testing::TempDir;

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) == 0) r = p[0], w = p[1];
  }
  ~Pipe() {
    if (r >= 0) ::close(r);
    if (w >= 0) ::close(w);
  }
};

TEST(PidFile, HoldsThePidAndANewline) {
  TempDir d;
  std::string path = d.path + "/netd.pid";
  ASSERT_TRUE(write_pid_file(path));
  auto text = read_file(path);
  ASSERT_TRUE(text) << text.error();
  EXPECT_EQ(*text, std::to_string(::getpid()) + "\n");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  EXPECT_EQ(read_pid_file(path), ::getpid());
}

TEST(PidFile, AardvarkStyleHasNoNewlineAndReplacesAnOldFile) {
  TempDir d;
  std::string path = d.path + "/aardvark.pid";
  ASSERT_TRUE(write_file_atomic(path, "99999999 stale and longer than a pid\n"));
  ASSERT_TRUE(write_pid_file(path, false));
  auto text = read_file(path);
  ASSERT_TRUE(text) << text.error();
  EXPECT_EQ(*text, std::to_string(::getpid()));
  EXPECT_EQ(read_pid_file(path), ::getpid());
}

TEST(PidFile, UnwritableDirectoryIsAOneLineError) {
  auto w = write_pid_file("/nonexistent-dir-netd/x.pid");
  ASSERT_FALSE(w);
  EXPECT_NE(w.error().find("cannot write pid file /nonexistent-dir-netd/x.pid"), std::string::npos) << w.error();
  EXPECT_EQ(w.error().find('\n'), std::string::npos);
}

TEST(PidFile, ReadRejectsMissingEmptyAndNonNumbers) {
  TempDir d;
  EXPECT_FALSE(read_pid_file(d.path + "/missing"));
  for (const char* text : {"", "abc", "-5", "0", "\n12"}) {
    ASSERT_TRUE(write_file_atomic(d.path + "/p", text));
    EXPECT_FALSE(read_pid_file(d.path + "/p")) << "'" << text << "'";
  }
  ASSERT_TRUE(write_file_atomic(d.path + "/p", "4242\n"));
  EXPECT_EQ(read_pid_file(d.path + "/p"), 4242);
}

TEST(ReadyFd, SignalWritesOneAndCloses) {
  Pipe p;
  signal_ready(p.w);
  p.w = -1;  // closed by signal_ready
  char buf[4];
  EXPECT_EQ(::read(p.r, buf, sizeof buf), 1);
  EXPECT_EQ(buf[0], '1');
  EXPECT_EQ(::read(p.r, buf, sizeof buf), 0);  // and nothing after it: the writer is closed
  signal_ready(-1);                             // no ready fd given: nothing to do
}

TEST(ReadyFd, WaitSeesTheByte) {
  Pipe p;
  ASSERT_EQ(::write(p.w, "1", 1), 1);
  EXPECT_EQ(wait_ready(p.r, 1000), ReadyWait::Ready);
}

TEST(ReadyFd, WaitSeesAChildThatClosedWithoutTheByte) {
  Pipe p;
  ::close(p.w);
  p.w = -1;
  EXPECT_EQ(wait_ready(p.r, 1000), ReadyWait::Closed);
}

TEST(ReadyFd, WaitGivesUpAfterItsTimeLimit) {
  Pipe p;
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(wait_ready(p.r, 50), ReadyWait::TimedOut);
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, std::chrono::milliseconds(45));
  EXPECT_LT(waited, std::chrono::seconds(5));
}

}  // namespace
}  // namespace netd
