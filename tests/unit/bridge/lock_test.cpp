#include "bridge/lock.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "bridge/paths.h"

using namespace netd::bridge;
using netd::read_file;
using netd::write_file_atomic;

namespace {
std::string temp_dir() {
  char tmpl[] = "/tmp/netd-lock-test-XXXXXX";
  return ::mkdtemp(tmpl);
}
}  // namespace

TEST(StateLock, ExcludesSecondHolderUntilReleased) {
  std::string dir = temp_dir();
  std::string path = dir + "/lock";
  {
    auto a = StateLock::acquire(path);
    ASSERT_TRUE(a) << a.error();
    auto b = StateLock::try_acquire(path);
    ASSERT_FALSE(b);
    EXPECT_NE(b.error().find("held by another netd"), std::string::npos);
  }
  auto c = StateLock::try_acquire(path);
  EXPECT_TRUE(c);
  ::unlink(path.c_str());
  ::rmdir(dir.c_str());
}

TEST(StateLock, ErrorForUnwritableDir) {
  auto a = StateLock::acquire("/nonexistent-dir-netd/lock");
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().find("/nonexistent-dir-netd/lock"), std::string::npos);
}

// Read-modify-write of a counter file by many threads, each under the lock:
// no update is lost, as with concurrent `netd network connect` calls.
TEST(StateLock, SerializesReadModifyWrite) {
  std::string dir = temp_dir();
  std::string lock = dir + "/lock", counter = dir + "/counter";
  ASSERT_TRUE(write_file_atomic(counter, "0"));
  std::vector<std::thread> ts;
  for (int t = 0; t < 8; ++t) {
    ts.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        auto l = StateLock::acquire(lock);
        ASSERT_TRUE(l);
        auto text = read_file(counter);
        ASSERT_TRUE(text);
        int v = std::stoi(*text);
        std::this_thread::yield();
        ASSERT_TRUE(write_file_atomic(counter, std::to_string(v + 1)));
      }
    });
  }
  for (auto& t : ts) t.join();
  auto text = read_file(counter);
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, "200");
  ::unlink(counter.c_str());
  ::unlink(lock.c_str());
  ::rmdir(dir.c_str());
}

TEST(Paths, EnvironmentOrder) {
  ::setenv("NETD_CONFIG_DIR", "/x/cfg", 1);
  ::setenv("NETD_RUNTIME_DIR", "/x/run", 1);
  auto p = default_paths();
  EXPECT_EQ(p.config_dir, "/x/cfg");
  EXPECT_EQ(p.lock_file(), "/x/run/lock");
  ::unsetenv("NETD_CONFIG_DIR");
  ::unsetenv("NETD_RUNTIME_DIR");
  ::setenv("XDG_CONFIG_HOME", "/y/conf", 1);
  ::setenv("XDG_RUNTIME_DIR", "/y/run", 1);
  p = default_paths();
  EXPECT_EQ(p.config_dir, "/y/conf/netd/networks");
  EXPECT_EQ(p.runtime_dir, "/y/run/netd");
  EXPECT_EQ(p.network_file("a"), "/y/conf/netd/networks/a.json");
  ::unsetenv("XDG_CONFIG_HOME");
  ::unsetenv("XDG_RUNTIME_DIR");
  ::setenv("HOME", "/home/z", 1);
  EXPECT_EQ(default_paths().config_dir, "/home/z/.config/netd/networks");
}
