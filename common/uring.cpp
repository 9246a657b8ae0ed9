#include "common/uring.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

namespace netd::uring {

Expected<std::unique_ptr<Ring>, std::string> Ring::create(unsigned entries) {
  std::unique_ptr<Ring> r(new Ring());
  io_uring_params p{};
  // SUBMIT_ALL: keep submitting the rest of a batch when one SQE fails early,
  //   so one bad socket cannot stall the others' requests.
  // COOP_TASKRUN: the single data-plane thread is never interrupted by an IPI
  //   to run completion work; it runs when we enter the kernel anyway.
  // SINGLE_ISSUER: only this thread submits, letting the kernel skip locking.
  p.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER;
  // Four times as many completion slots as submission slots: multishot receives
  // produce several completions per request.
  p.flags |= IORING_SETUP_CQSIZE;
  p.cq_entries = entries * 4;
  int rc = io_uring_queue_init_params(entries, &r->ring_, &p);
  if (rc == -EINVAL) {
    // Older kernels (< 6.0) reject the newer flags: fall back to defaults.
    p = io_uring_params{};
    p.flags = IORING_SETUP_CQSIZE;
    p.cq_entries = entries * 4;
    rc = io_uring_queue_init_params(entries, &r->ring_, &p);
  }
  if (rc < 0) {
    std::string msg = std::string("cannot set up io_uring: ") + std::strerror(-rc);
    if (rc == -EPERM || rc == -ENOSYS)
      msg += " (io_uring is disabled on this host: see sysctl kernel.io_uring_disabled)";
    return unexpected(msg);
  }
  // EXT_ARG (5.11) lets a wait carry its own timeout without spending an SQE.
  r->ext_arg_ = (p.features & IORING_FEAT_EXT_ARG) != 0;
  if (!(p.features & IORING_FEAT_NODROP)) {
    io_uring_queue_exit(&r->ring_);
    return unexpected(std::string("this kernel's io_uring lacks IORING_FEAT_NODROP (Linux >= 5.5 needed)"));
  }
  return r;
}

Ring::~Ring() { io_uring_queue_exit(&ring_); }

io_uring_sqe* Ring::sqe(Tag tag) {
  io_uring_sqe* s = io_uring_get_sqe(&ring_);
  while (!s) {
    io_uring_submit(&ring_);
    s = io_uring_get_sqe(&ring_);
  }
  io_uring_sqe_set_data64(s, encode(tag));
  return s;
}

int Ring::submit_and_wait(std::optional<Duration> timeout) {
  if (!timeout) return io_uring_submit_and_wait(&ring_, 1);
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(*timeout).count();
  if (ns < 0) ns = 0;
  __kernel_timespec ts{};
  ts.tv_sec = ns / 1000000000;
  ts.tv_nsec = ns % 1000000000;
  io_uring_cqe* cqe = nullptr;
  int rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
  return rc < 0 ? rc : 0;
}

Expected<std::unique_ptr<BufferRing>, std::string> Ring::make_buffer_ring(uint16_t group, uint32_t count,
                                                                           uint32_t size) {
  std::unique_ptr<BufferRing> b(new BufferRing());
  b->ring_ = &ring_;
  b->group_ = group;
  b->count_ = count;
  b->size_ = size;
  b->br_len_ = count * sizeof(io_uring_buf);
  void* br = ::mmap(nullptr, b->br_len_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (br == MAP_FAILED) return unexpected(std::string("mmap buffer ring: ") + std::strerror(errno));
  b->br_ = static_cast<io_uring_buf_ring*>(br);
  b->mem_len_ = size_t{count} * size;
  void* mem = ::mmap(nullptr, b->mem_len_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) return unexpected(std::string("mmap buffers: ") + std::strerror(errno));
  b->mem_ = static_cast<std::byte*>(mem);

  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(b->br_);
  reg.ring_entries = count;
  reg.bgid = group;
  int rc = io_uring_register_buf_ring(&ring_, &reg, 0);
  if (rc < 0) {
    b->ring_ = nullptr;  // nothing registered: the destructor must not unregister
    return unexpected(std::string("cannot register an io_uring provided-buffer ring: ") +
                      std::strerror(-rc) + " (netd needs Linux >= 5.19)");
  }
  io_uring_buf_ring_init(b->br_);
  for (uint32_t i = 0; i < count; ++i) b->recycle(static_cast<uint16_t>(i));
  b->commit();
  return b;
}

BufferRing::~BufferRing() {
  if (ring_) io_uring_unregister_buf_ring(ring_, group_);
  if (mem_) ::munmap(mem_, mem_len_);
  if (br_) ::munmap(br_, br_len_);
}

std::span<const std::byte> BufferRing::data(uint16_t bid, size_t len) const {
  if (bid >= count_) return {};
  if (len > size_) len = size_;
  return {mem_ + size_t{bid} * size_, len};
}

void BufferRing::recycle(uint16_t bid) {
  io_uring_buf_ring_add(br_, mem_ + size_t{bid} * size_, size_, bid, io_uring_buf_ring_mask(count_),
                        pending_++);
}

void BufferRing::commit() {
  if (pending_ == 0) return;
  io_uring_buf_ring_advance(br_, pending_);
  pending_ = 0;
}

}  // namespace netd::uring
