#include "tap/byte_ring.h"

#include <algorithm>
#include <cstring>

namespace netd::tap {

ChunkPool::Chunk ChunkPool::get() {
  if (!available()) return nullptr;
  ++outstanding_;
  if (!cache_.empty()) {
    auto c = std::move(cache_.back());
    cache_.pop_back();
    return c;
  }
  // Not value-initialised: the ring only ever exposes bytes written into it.
  return Chunk(new std::byte[size_]);
}

void ChunkPool::put(Chunk chunk) {
  if (!chunk) return;
  --outstanding_;
  // use_count() > 1: a frame not yet written still points into it.
  if (cache_.size() < max_cached_ && chunk.use_count() == 1) cache_.push_back(std::move(chunk));
}

std::span<std::byte> ByteRing::writable() {
  if (!buf_) {
    buf_ = pool_->get();
    if (!buf_) return {};
    head_ = 0;
  }
  const size_t cap = capacity();
  if (size_ == cap) return {};
  size_t tail = (head_ + size_) % cap;
  size_t len = tail >= head_ ? cap - tail : head_ - tail;
  if (size_ == 0) {
    head_ = 0;  // an empty ring restarts at 0: the largest contiguous region
    tail = 0;
    len = cap;
  }
  return {buf_.get() + tail, len};
}

void ByteRing::commit(size_t n) { size_ = std::min(size_ + n, capacity()); }

size_t ByteRing::append(std::span<const std::byte> data) {
  size_t taken = 0;
  while (taken < data.size()) {
    auto w = writable();
    if (w.empty()) break;
    size_t n = std::min(w.size(), data.size() - taken);
    std::memcpy(w.data(), data.data() + taken, n);
    commit(n);
    taken += n;
  }
  return taken;
}

std::span<const std::byte> ByteRing::readable_at(size_t offset) const {
  if (!buf_ || offset >= size_) return {};
  const size_t cap = capacity();
  size_t start = (head_ + offset) % cap;
  size_t remaining = size_ - offset;
  size_t len = std::min(remaining, cap - start);
  return {buf_.get() + start, len};
}

void ByteRing::consume(size_t n, bool keep_storage) {
  n = std::min(n, size_);
  if (!buf_) return;
  head_ = (head_ + n) % capacity();
  size_ -= n;
  // Keep head_ where it is when storage is kept: a receive may be writing at
  // the tail right now, and commit() must find its bytes there.
  if (size_ == 0 && !keep_storage) release();
}

void ByteRing::release() {
  if (buf_) pool_->put(std::move(buf_));
  head_ = 0;
  size_ = 0;
}

}  // namespace netd::tap
