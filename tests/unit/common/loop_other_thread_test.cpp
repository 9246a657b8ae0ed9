// A loop made on one thread and run on another (LoopOptions::
// runs_on_another_thread: pasta's -T/-U forwarder makes its loop before the
// sandbox and runs it on a thread started after). Requests queued before the
// handover complete once the other thread waits; an io_uring ring made
// SINGLE_ISSUER on the first thread would refuse that thread's waits
// (-EEXIST) if it were enabled there.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>

#include "common/event_loop.h"
#include "common/unique_fd.h"
#include "unit/common/loop_test_util.h"

namespace netd {
namespace {

class LoopOnAnotherThread : public ::testing::TestWithParam<loop::LoopKind> {};

TEST_P(LoopOnAnotherThread, QueuedPollCompletesWhenTheOtherThreadRuns) {
  loop::LoopOptions o{64, GetParam()};
  o.runs_on_another_thread = true;
  auto made = loop::make_event_loop(o);
  if (!made) GTEST_SKIP() << "no such event loop here: " << made.error();
  std::unique_ptr<loop::EventLoop> l = std::move(*made);
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
  UniqueFd r(p[0]), w(p[1]);
  testing::Recorder rec(*l);
  l->poll(rec.tag(1, 0, 0), r.get(), POLLIN);  // queued on this thread
  ASSERT_EQ(::write(w.get(), "x", 1), 1);
  int first_wait = 1;
  bool done = false;
  std::thread runner([&] {
    first_wait = l->wait(std::chrono::milliseconds(10));
    l->dispatch(Clock::now(), ~0u);
    done = testing::run_until(*l, [&] { return !rec.got.empty(); });
  });
  runner.join();
  EXPECT_NE(first_wait, -EEXIST) << "the ring's issuer is the thread that made it";
  EXPECT_NE(first_wait, -EBADFD) << "the ring was never enabled";
  ASSERT_TRUE(done) << "the poll queued before the handover never completed";
  ASSERT_EQ(rec.got.size(), 1u);
  EXPECT_TRUE(rec.got[0].res & POLLIN);
}

NETD_FOR_EACH_LOOP(LoopOnAnotherThread);

}  // namespace
}  // namespace netd
