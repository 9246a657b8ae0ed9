// The one home of io_uring in netd: the io_uring implementation of
// loop::EventLoop (common/event_loop.h).
//
// Theory of operation: one ring per data plane thread. Each operation of
// the EventLoop interface becomes one SQE whose user_data is the encoded
// loop::Tag; submission waits for the next wait(), so a round's worth of
// requests costs one io_uring_enter. dispatch() walks the completion queue,
// turns each CQE into a loop::Completion (result, IORING_CQE_F_MORE, the
// provided buffer's id) and hands it to the handler the tag names.
// Multishot receives take their buffers from provided-buffer rings
// (UringBufferPool, one buffer group each): the kernel picks a buffer per
// completion, so thousands of idle sockets cost no buffers.
//
// Set-up flags and the kernel features netd relies on are chosen and
// probed in create() (each flag is commented there); what is missing is
// named in the error, and newer optional flags fall back to defaults.
//
// The ring admits only what its owner declared (LoopOptions::ops): it is
// created disabled (IORING_SETUP_R_DISABLED), given an allow-list of
// opcodes, register operations and SQE flags derived from those operations
// (IORING_REGISTER_RESTRICTIONS; the table in uring.cpp says which opcodes
// each operation submits), then enabled. Any other request completes with
// -EACCES: a process that has taken over netd cannot open files
// (IORING_OP_OPENAT), make UNIX or netlink sockets (IORING_OP_SOCKET) or
// register new files through the ring, which seccomp (blind to ring
// requests) could not stop. A kernel without restrictions (< 5.10) leaves
// the ring open; that is said once in the log.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/event_loop.h"
#include "common/expected.h"
#include "common/time.h"

namespace netd::loop {

// A provided-buffer ring: `count` buffers of `size` bytes in one buffer
// group; recv_multishot requests of this pool name the group.
class UringBufferPool final : public BufferPool {
 public:
  ~UringBufferPool() override;
  std::span<const std::byte> data(uint16_t id, size_t len) const override;
  void recycle(uint16_t id) override;
  void commit() override;
  uint16_t group() const { return group_; }

 private:
  friend class UringLoop;
  UringBufferPool() = default;
  io_uring* ring_ = nullptr;
  io_uring_buf_ring* br_ = nullptr;
  std::byte* mem_ = nullptr;
  size_t mem_len_ = 0;
  size_t br_len_ = 0;
  uint16_t group_ = 0;
  uint32_t count_ = 0;
  uint32_t size_ = 0;
  int pending_ = 0;
};

class UringLoop final : public EventLoop {
 public:
  // A ring with `entries` submission slots that admits the operations in
  // `ops` and nothing else (see the theory of operation). Returns a message
  // naming what is missing (io_uring refused, a feature or operation this
  // kernel lacks). `enable_on_first_wait`: the ring stays disabled (requests
  // queue up, at most `entries`) until the first wait(), whose thread then
  // is the ring's single issuer (LoopOptions::runs_on_another_thread).
  static Expected<std::unique_ptr<UringLoop>, std::string> create(unsigned entries, LoopOps ops = kAllLoopOps,
                                                                  bool enable_on_first_wait = false);
  ~UringLoop() override;

  const char* name() const override { return "io_uring"; }
  Expected<std::unique_ptr<BufferPool>, std::string> make_buffer_pool(uint32_t count, uint32_t size) override;

  void poll(Tag t, int fd, unsigned events) override;
  void poll_multishot(Tag t, int fd, unsigned events) override;
  void read(Tag t, int fd, void* buf, size_t len) override;
  void recv(Tag t, int fd, void* buf, size_t len, int flags) override;
  void recv_multishot(Tag t, int fd, BufferPool& pool) override;
  void send(Tag t, int fd, const void* buf, size_t len, int flags) override;
  void connect(Tag t, int fd, const sockaddr* addr, socklen_t len) override;
  void accept_multishot(Tag t, int fd, int flags) override;
  void splice(Tag t, int fd_in, int fd_out, unsigned len, unsigned flags) override;
  void cancel(Tag t) override;
  void cancel_and_close(int fd) override;

  int wait(std::optional<Duration> timeout) override;
  unsigned dispatch(Time now, unsigned max) override;
  bool has_ready() const override;

  // The kernel holds the ring to its allow-list (false: a kernel without
  // io_uring restrictions, which admits everything).
  bool restricted() const { return restricted_; }
  // The ring itself, for tests that submit what the loop never would (the
  // allow-list's tests; the takeover test's payload).
  io_uring* ring_for_tests() { return &ring_; }

 private:
  UringLoop() = default;
  // A submission entry tagged `t` for an operation of kind `op` (aborts
  // when the owner did not declare it); when the queue is full, what is
  // queued is submitted first. Never returns null.
  io_uring_sqe* sqe(Tag t, LoopOp op);
  io_uring ring_{};
  bool initialized_ = false;  // ring_ was set up (and must be torn down)
  bool restricted_ = false;
  bool enabled_ = false;
  uint16_t next_group_ = 1;
};

}  // namespace netd::loop
