// Which event loop make_event_loop() gives: NETD_EVENT_LOOP read for
// LoopKind::Auto only, each word it takes, and a clear error for one it does
// not. (That Auto falls back to epoll where io_uring is refused is what the
// integration_epoll.* tests show, under a seccomp filter.)
#include <stdlib.h>

#include <gtest/gtest.h>

#include <string>

#include "common/event_loop.h"

namespace netd {
namespace {

using loop::LoopKind;

TEST(LoopKindFromEnv, UnsetEmptyAndAutoLeaveTheChoiceToTheHost) {
  for (const char* v : {static_cast<const char*>(nullptr), "", "auto"}) {
    auto k = loop::loop_kind_from_env(v);
    ASSERT_TRUE(k) << (v ? v : "(unset)");
    EXPECT_EQ(*k, LoopKind::Auto) << (v ? v : "(unset)");
  }
}

TEST(LoopKindFromEnv, NamesEachLoop) {
  EXPECT_EQ(loop::loop_kind_from_env("epoll").value(), LoopKind::Epoll);
  EXPECT_EQ(loop::loop_kind_from_env("io_uring").value(), LoopKind::Uring);
  EXPECT_EQ(loop::loop_kind_from_env("uring").value(), LoopKind::Uring);
}

TEST(LoopKindFromEnv, AnythingElseIsAnErrorNamingTheWords) {
  for (const char* v : {"EPOLL", "select", "epoll ", "1"}) {
    auto k = loop::loop_kind_from_env(v);
    ASSERT_FALSE(k) << v;
    EXPECT_EQ(k.error(), std::string("NETD_EVENT_LOOP=") + v + ": not an event loop (auto, io_uring or epoll)");
  }
}

// Sets NETD_EVENT_LOOP for one test and restores it afterwards.
class LoopEnv : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* v = ::getenv(loop::kLoopEnv)) saved_ = v, had_ = true;
  }
  void TearDown() override {
    if (had_) ::setenv(loop::kLoopEnv, saved_.c_str(), 1);
    else ::unsetenv(loop::kLoopEnv);
  }
  static std::string made(loop::LoopKind kind) {
    auto l = loop::make_event_loop(loop::LoopOptions{8, kind});
    return l ? std::string((*l)->name()) : "error: " + l.error();
  }
  static bool uring_here() { return static_cast<bool>(loop::make_event_loop(loop::LoopOptions{8, LoopKind::Uring})); }

 private:
  std::string saved_;
  bool had_ = false;
};

TEST_F(LoopEnv, EpollForcesTheFallbackForAuto) {
  ::setenv(loop::kLoopEnv, "epoll", 1);
  EXPECT_EQ(made(LoopKind::Auto), "epoll");
}

TEST_F(LoopEnv, UnsetAutoPrefersIoUringWhereTheHostAllowsIt) {
  ::unsetenv(loop::kLoopEnv);
  EXPECT_EQ(made(LoopKind::Auto), uring_here() ? "io_uring" : "epoll");
}

TEST_F(LoopEnv, IoUringInsistsOnIt) {
  ::setenv(loop::kLoopEnv, "io_uring", 1);
  if (uring_here()) EXPECT_EQ(made(LoopKind::Auto), "io_uring");
  else EXPECT_EQ(made(LoopKind::Auto).rfind("error: ", 0), 0u);  // no fallback
}

TEST_F(LoopEnv, AnExplicitKindIgnoresTheVariable) {
  ::setenv(loop::kLoopEnv, "io_uring", 1);
  EXPECT_EQ(made(LoopKind::Epoll), "epoll");
  ::setenv(loop::kLoopEnv, "nonsense", 1);
  EXPECT_EQ(made(LoopKind::Epoll), "epoll");
  if (uring_here()) {
    ::setenv(loop::kLoopEnv, "epoll", 1);
    EXPECT_EQ(made(LoopKind::Uring), "io_uring");
  }
}

TEST_F(LoopEnv, AnUnknownWordStopsAuto) {
  ::setenv(loop::kLoopEnv, "select", 1);
  EXPECT_EQ(made(LoopKind::Auto), "error: NETD_EVENT_LOOP=select: not an event loop (auto, io_uring or epoll)");
}

}  // namespace
}  // namespace netd
