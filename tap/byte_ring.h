// ByteRing: the per-connection byte queue of the TCP engine, in both
// directions (guest -> host data waiting for the host socket; host -> guest
// data sent but not yet acknowledged by the guest).
//
// Theory of operation: a fixed-capacity ring over one chunk borrowed from a
// ChunkPool. Producers write into writable() (the contiguous free space at
// the tail) and commit(n); consumers read readable_at(offset) (the contiguous
// bytes from `offset` past the head) and consume(n) from the head. Regions
// are contiguous so the kernel can read or write them directly (io_uring
// recv/send into the ring), which is why a region stops at the wrap point.
// The chunk is taken lazily and given back when the ring is empty, so an
// idle connection holds no buffer memory.
//
// Chunks are shared: a frame for the guest may point into a ring (the TCP
// payload is written to the tap from where the socket put it, never copied)
// and holds a reference until the loop has written it. A chunk given back
// while such a frame still holds it is not cached for reuse (another
// connection would write into it); it is freed when the last frame goes.
// Bytes a frame points at can change only once the guest has acknowledged
// them (consume() makes them free space), so a stale retransmission carries
// only bytes the guest discards.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace netd::tap {

// A bounded cache of equal-sized chunks, so bulk transfers do not pay for a
// large malloc/free (often mmap/munmap) every time a queue empties. At most
// `max_outstanding` chunks are lent at once: that is the memory budget of all
// connections together (get() then returns null and the rings stay empty).
class ChunkPool {
 public:
  ChunkPool(size_t chunk_size, size_t max_cached, size_t max_outstanding = SIZE_MAX)
      : size_(chunk_size), max_cached_(max_cached), max_outstanding_(max_outstanding) {}
  size_t chunk_size() const { return size_; }
  using Chunk = std::shared_ptr<std::byte[]>;
  // A chunk, or null when the budget is spent.
  Chunk get();
  // Takes a chunk back; cached only when nothing else (a frame) holds it.
  void put(Chunk chunk);
  size_t outstanding() const { return outstanding_; }
  bool available() const { return outstanding_ < max_outstanding_; }

 private:
  size_t size_;
  size_t max_cached_;
  size_t max_outstanding_;
  size_t outstanding_ = 0;
  std::vector<Chunk> cache_;
};

class ByteRing {
 public:
  explicit ByteRing(ChunkPool& pool) : pool_(&pool) {}
  ~ByteRing() { release(); }
  ByteRing(const ByteRing&) = delete;
  ByteRing& operator=(const ByteRing&) = delete;

  size_t capacity() const { return pool_->chunk_size(); }
  size_t size() const { return size_; }
  // Room for more bytes; 0 without a chunk while the pool's budget is spent.
  size_t free() const { return buf_ || pool_->available() ? capacity() - size_ : 0; }
  bool empty() const { return size_ == 0; }
  bool has_storage() const { return static_cast<bool>(buf_); }

  // Contiguous free space at the tail (takes a chunk from the pool if needed;
  // empty when the ring is full or the pool's budget is spent).
  std::span<std::byte> writable();
  void commit(size_t n);
  // Appends as much of `data` as fits; returns the number of bytes taken.
  size_t append(std::span<const std::byte> data);
  // Contiguous bytes starting `offset` bytes past the head (empty if none).
  std::span<const std::byte> readable_at(size_t offset) const;
  // The chunk behind readable_at(): a frame pointing into it holds this.
  std::shared_ptr<const void> storage() const { return buf_; }
  // Drops n bytes from the head; gives the chunk back when the ring empties
  // and `keep_storage` is false (a read or write into it may be in flight).
  void consume(size_t n, bool keep_storage = false);
  // Gives the chunk back (the ring must not be the target of a pending I/O).
  void release();

 private:
  ChunkPool* pool_;
  ChunkPool::Chunk buf_;
  size_t head_ = 0;  // index of the first byte
  size_t size_ = 0;
};

}  // namespace netd::tap
