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

TEST(ByteRing, AChunkAFrameStillHoldsIsNotReused) {
  ChunkPool pool(16, 4);
  ByteRing sender(pool), other(pool);
  ASSERT_EQ(sender.append(bytes("payload")), 7u);
  auto held = sender.storage();  // what a frame pointing at readable_at(0) keeps
  auto view = sender.readable_at(0);
  sender.consume(7);  // acknowledged: the ring empties and gives its chunk back
  EXPECT_FALSE(sender.has_storage());
  ASSERT_EQ(other.append(bytes("XXXXXXXXXXXXXXXX")), 16u);
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(view.data()), view.size()), "payload")
      << "another ring got the chunk a frame still points into";
  const std::byte* other_chunk = other.readable_at(0).data();
  held.reset();
  other.consume(16);  // held by nobody else: cached
  ByteRing third(pool);
  ASSERT_EQ(third.append(bytes("z")), 1u);
  EXPECT_EQ(third.readable_at(0).data(), other_chunk) << "a free chunk is reused from the cache";
}

}  // namespace
}  // namespace netd::tap
