// Shared by the event loop tests: a real loop (or a skip where io_uring is
// refused), and running it until something happened.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "common/event_loop.h"

namespace netd::testing {

// The host's event loop, or nullptr after GTEST_SKIP when none can be made
// (io_uring refused in this environment). Use through NETD_LOOP_OR_SKIP.
inline std::unique_ptr<loop::EventLoop> make_loop_or_null(std::string* why) {
  auto l = loop::make_event_loop(loop::LoopOptions{64});
  if (!l) {
    *why = l.error();
    return nullptr;
  }
  return std::move(*l);
}
#define NETD_LOOP_OR_SKIP(var)                                   \
  std::string var##_why;                                         \
  auto var = ::netd::testing::make_loop_or_null(&var##_why);     \
  if (!var) GTEST_SKIP() << "no event loop here: " << var##_why

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
