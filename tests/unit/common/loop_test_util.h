// Shared by the event loop tests: each test runs once per loop
// implementation (io_uring, epoll), skipped where the host refuses that
// one; and running a loop until something happened.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/event_loop.h"

namespace netd::testing {

class LoopTest : public ::testing::TestWithParam<loop::LoopKind> {
 protected:
  void SetUp() override {
    auto l = loop::make_event_loop(loop::LoopOptions{64, GetParam()});
    if (!l) GTEST_SKIP() << "no such event loop here: " << l.error();
    loop_ = std::move(*l);
  }
  std::unique_ptr<loop::EventLoop> loop_;
};

inline std::string loop_name(const ::testing::TestParamInfo<loop::LoopKind>& i) {
  return i.param == loop::LoopKind::Uring ? "io_uring" : "epoll";
}
#define NETD_FOR_EACH_LOOP(Suite)                                                                         \
  INSTANTIATE_TEST_SUITE_P(Loops, Suite, ::testing::Values(loop::LoopKind::Uring, loop::LoopKind::Epoll), \
                           ::netd::testing::loop_name)

// A handler that keeps every completion it gets.
class Recorder final : public loop::Handler {
 public:
  explicit Recorder(loop::EventLoop& l) : Handler(l) {}
  using Handler::tag;
  void on_completion(Time, const loop::Completion& c) override { got.push_back(c); }
  std::vector<loop::Completion> got;
};

// Runs rounds of `l` until `done()` or `ms` milliseconds passed; returns done().
inline bool run_until(loop::EventLoop& l, const std::function<bool()>& done, int ms = 2000) {
  const Time until = Clock::now() + std::chrono::milliseconds(ms);
  while (!done() && Clock::now() < until) {
    l.wait(std::chrono::milliseconds(10));
    l.dispatch(Clock::now(), ~0u);
  }
  return done();
}

// Runs rounds of `l` for `ms` milliseconds (to see that nothing happens).
inline void run_for(loop::EventLoop& l, int ms) {
  run_until(l, [] { return false; }, ms);
}

}  // namespace netd::testing
