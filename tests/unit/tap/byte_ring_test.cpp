// ChunkPool's memory budget and what a ByteRing does when it is spent: no
// room (so the TCP engine advertises a zero window and waits), until a chunk
// comes back.
#include "tap/byte_ring.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string_view>

namespace netd::tap {
namespace {

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

TEST(ChunkPool, LendsNoMoreThanItsBudget) {
  ChunkPool pool(16, 1, 2);
  auto a = pool.get(), b = pool.get();
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(pool.available());
  EXPECT_EQ(pool.get(), nullptr);
  EXPECT_EQ(pool.outstanding(), 2u);
  pool.put(std::move(a));
  EXPECT_TRUE(pool.available());
  EXPECT_NE(pool.get(), nullptr);
}

TEST(ByteRing, OverBudgetHasNoRoomUntilAChunkComesBack) {
  ChunkPool pool(16, 0, 1);
  ByteRing holder(pool), starved(pool);
  EXPECT_EQ(holder.append(bytes("x")), 1u);
  EXPECT_EQ(starved.free(), 0u) << "a zero window, not a promise the ring cannot keep";
  EXPECT_TRUE(starved.writable().empty());
  EXPECT_EQ(starved.append(bytes("y")), 0u);
  EXPECT_FALSE(starved.has_storage());
  holder.consume(1);  // empty: the chunk goes back
  EXPECT_EQ(starved.free(), 16u);
  EXPECT_EQ(starved.append(bytes("y")), 1u);
}

}  // namespace
}  // namespace netd::tap
