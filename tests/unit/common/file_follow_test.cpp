// FileFollow: the helper sends a file's new text after a rename, through a
// symlink into another directory too, never an unchanged text; its end is
// reported.
#include "common/file_follow.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "unit/common/temp_dir.h"

namespace netd {
namespace {

void write_by_rename(const std::string& path, const std::string& text) {
  std::ofstream(path + ".new") << text;
  ASSERT_EQ(std::rename((path + ".new").c_str(), path.c_str()), 0);
}

// Waits (bounded) for the follow socket, then takes what is there.
FileFollow::Taken wait_take(FileFollow& f, int ms = 3000) {
  pollfd p{f.fd(), POLLIN, 0};
  if (::poll(&p, 1, ms) <= 0) return {};
  return f.take();
}

TEST(FileFollow, RenamedFileIsSent) {
  testing::TempDir dir;
  std::string path = dir.path + "/resolv.conf";
  std::ofstream(path) << "nameserver 127.0.0.11\n";
  auto f = FileFollow::start(path, "nameserver 127.0.0.11\n");
  ASSERT_TRUE(f) << f.error();
  EXPECT_FALSE(f->take().text);  // nothing yet
  write_by_rename(path, "nameserver 127.0.0.12\n");
  auto t = wait_take(*f);
  ASSERT_TRUE(t.text);
  EXPECT_EQ(*t.text, "nameserver 127.0.0.12\n");
  EXPECT_FALSE(t.ended);
  // The same text again is no change.
  write_by_rename(path, "nameserver 127.0.0.12\n");
  EXPECT_FALSE(wait_take(*f, 300).text);
}

TEST(FileFollow, SymlinkTargetInAnotherDirectory) {
  testing::TempDir etc, run;
  std::string target = run.path + "/stub-resolv.conf", link = etc.path + "/resolv.conf";
  std::ofstream(target) << "nameserver 127.0.0.53\n";
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  auto f = FileFollow::start(link, "nameserver 127.0.0.53\n");
  ASSERT_TRUE(f) << f.error();
  write_by_rename(target, "nameserver 127.0.0.54\n");
  auto t = wait_take(*f);
  ASSERT_TRUE(t.text);
  EXPECT_EQ(*t.text, "nameserver 127.0.0.54\n");
}

TEST(FileFollow, HelperEndIsReported) {
  testing::TempDir dir;
  std::string path = dir.make("f");
  auto f = FileFollow::start(path, "x");
  ASSERT_TRUE(f) << f.error();
  ASSERT_EQ(::kill(f->helper_pid(), SIGKILL), 0);
  auto t = wait_take(*f);
  EXPECT_TRUE(t.ended);
  EXPECT_FALSE(t.text);
}

TEST(FileFollow, MissingDirectoryIsAnError) {
  auto f = FileFollow::start("/nonexistent-netd-dir/resolv.conf", "");
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().find("/nonexistent-netd-dir/resolv.conf"), std::string::npos);
}

}  // namespace
}  // namespace netd
