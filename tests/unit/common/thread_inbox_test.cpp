// ThreadInbox (common/thread_inbox.h), the bounded inbox the queues of a
// multi-queue tap hand frames and closures through: order, the bound, the
// eventfd's readiness, and every item of another thread arriving once.
#include "common/thread_inbox.h"

#include <poll.h>

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace netd {
namespace {

TEST(ThreadInbox, KeepsOrderAndRefusesBeyondItsBound) {
  ThreadInbox<int> inbox(3);
  pollfd p{inbox.eventfd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0);  // nothing yet: not readable
  EXPECT_TRUE(inbox.post(1));
  EXPECT_TRUE(inbox.post(2));
  EXPECT_TRUE(inbox.post(3));
  EXPECT_FALSE(inbox.post(4));
  EXPECT_EQ(::poll(&p, 1, 0), 1);
  EXPECT_EQ(inbox.take(), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(::poll(&p, 1, 0), 0);  // taken: quiet again
  EXPECT_TRUE(inbox.post(5));
  EXPECT_EQ(inbox.take(), (std::vector<int>{5}));
}

TEST(ThreadInbox, EveryItemOfAnotherThreadArrivesOnceInOrder) {
  ThreadInbox<int> inbox(1 << 20);
  constexpr int kItems = 100000;
  std::thread sender([&] {
    for (int i = 0; i < kItems; ++i) ASSERT_TRUE(inbox.post(i));
  });
  std::vector<int> got;
  pollfd p{inbox.eventfd(), POLLIN, 0};
  for (int rounds = 0; got.size() < kItems && rounds < 1000000; ++rounds) {
    ::poll(&p, 1, 100);
    for (int v : inbox.take()) got.push_back(v);
  }
  sender.join();
  for (int v : inbox.take()) got.push_back(v);
  ASSERT_EQ(got.size(), size_t{kItems});
  for (int i = 0; i < kItems; ++i) ASSERT_EQ(got[i], i);
}

}  // namespace
}  // namespace netd
