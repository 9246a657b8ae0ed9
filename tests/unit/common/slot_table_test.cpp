// SlotTable: indexes are reused, generations are not; a completion for an
// earlier occupant finds nothing; what a released slot owned is released.
#include "common/slot_table.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <set>

#include "common/unique_fd.h"

namespace netd {
namespace {

struct Item {
  int value = 0;
  UniqueFd fd;
};

TEST(SlotTable, TakesFreshSlotsThenReusesTheLastReleased) {
  SlotTable<Item> t;
  EXPECT_EQ(t.take(), 0u);
  EXPECT_EQ(t.take(), 1u);
  EXPECT_EQ(t.take(), 2u);
  EXPECT_EQ(t.count(), 3u);
  t.release(0);
  t.release(2);
  EXPECT_EQ(t.count(), 1u);
  EXPECT_EQ(t.take(), 2u);  // the most recently released first
  EXPECT_EQ(t.take(), 0u);
  EXPECT_EQ(t.take(), 3u);  // none free: a new one
  EXPECT_EQ(t.size(), 4u);
  EXPECT_EQ(t.count(), 4u);
}

TEST(SlotTable, ReleaseMovesTheGenerationOnAndFindRejectsTheOldOne) {
  SlotTable<Item> t;
  uint32_t i = t.take();
  uint16_t g0 = t.generation(i);
  t[i].value = 7;
  ASSERT_NE(t.find(i, g0), nullptr);
  EXPECT_EQ(t.find(i, g0)->value, 7);
  t.release(i);
  EXPECT_EQ(t.find(i, g0), nullptr);  // released: nobody home
  EXPECT_FALSE(t.taken(i));
  EXPECT_EQ(t.take(), i);
  uint16_t g1 = t.generation(i);
  EXPECT_EQ(g1, static_cast<uint16_t>(g0 + 1));
  EXPECT_EQ(t.find(i, g0), nullptr);  // taken again, but by a newer occupant
  ASSERT_NE(t.find(i, g1), nullptr);
  EXPECT_EQ(t.find(i, g1)->value, 0);  // fresh, not the old occupant's value
  EXPECT_EQ(t.find(99, 0), nullptr);   // never handed out
}

TEST(SlotTable, ReleasingTwiceIsHarmless) {
  SlotTable<Item> t;
  uint32_t i = t.take();
  t.release(i);
  uint16_t g = t.generation(i);
  t.release(i);
  EXPECT_EQ(t.generation(i), g);
  EXPECT_EQ(t.count(), 0u);
  EXPECT_EQ(t.take(), i);
  EXPECT_EQ(t.take(), i + 1);  // the index was on the free list once, not twice
}

TEST(SlotTable, GenerationWrapsAround) {
  SlotTable<Item> t;
  uint32_t i = t.take();
  for (int k = 0; k < 65536; ++k) {
    t.release(i);
    ASSERT_EQ(t.take(), i);
  }
  EXPECT_EQ(t.generation(i), 0u);  // 16 bits: 65536 reuses come back to the start
}

TEST(SlotTable, ReleaseClosesWhatTheSlotOwned) {
  SlotTable<Item> t;
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  ::close(p[1]);
  uint32_t i = t.take();
  t[i].fd.reset(p[0]);
  ASSERT_GE(::fcntl(p[0], F_GETFD), 0);
  t.release(i);
  EXPECT_EQ(::fcntl(p[0], F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST(SlotTable, EntriesDoNotMoveWhenTheTableGrows) {
  SlotTable<Item> t;
  uint32_t i = t.take();
  const Item* before = &t[i];
  for (int k = 0; k < 10000; ++k) t.take();
  EXPECT_EQ(&t[i], before);  // a connect's sockaddr inside an entry stays where the kernel reads it
}

TEST(SlotTable, ForEachVisitsTakenSlotsAndMayReleaseThem) {
  SlotTable<Item> t;
  for (int k = 0; k < 5; ++k) t[t.take()].value = k;
  t.release(1);
  std::set<int> seen;
  t.for_each([&](uint32_t i, Item& it) {
    seen.insert(it.value);
    if (it.value % 2 == 0) t.release(i);
  });
  EXPECT_EQ(seen, (std::set<int>{0, 2, 3, 4}));
  EXPECT_EQ(t.count(), 1u);
  const SlotTable<Item>& ct = t;
  int left = -1;
  ct.for_each([&](uint32_t, const Item& it) { left = it.value; });
  EXPECT_EQ(left, 3);
}

}  // namespace
}  // namespace netd
