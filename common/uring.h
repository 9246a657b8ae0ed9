// The one home of io_uring in netd.
//
// Theory of operation: every subsystem that does I/O on the data plane submits
// through one Ring. A request's user_data is a Tag: which operation it was,
// which slot of the owner's table it belongs to, and the slot's generation, so
// a completion that arrives after its slot was recycled (a socket closed while
// a multishot receive was still armed) is recognised and dropped. The loop
// (tap/dataplane.cpp is the first) waits, reaps completions in a batch with
// for_each_completion(), dispatches them by Tag::op, and submits everything
// the batch produced in one io_uring_enter.
//
// Received data lands in provided-buffer rings (BufferRing): the kernel picks
// a buffer per completion, so thousands of idle sockets cost no buffers, and
// the loop gives each buffer back once it has consumed the data.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/expected.h"
#include "common/time.h"

namespace netd::uring {

// What a completion belongs to. Values are part of the user_data encoding.
enum class Op : uint8_t {
  None = 0,
  TapReadable,  // multishot poll: the tap has frames to read
  SocketRecv,
  SocketSend,
  PollFd,      // readiness of a foreign fd (c-ares sockets)
  SignalRead,  // signalfd
  PidExit,     // pidfd became readable: the target process exited
  Cancel,      // completions of cancel/poll-remove/close requests themselves
  TcpConnect,  // stream socket connect
  TcpPoll,     // stream socket readable
  TcpRecv,     // stream socket receive into a caller-owned buffer
  TcpSend,     // stream socket send from a caller-owned buffer
  Accept,      // multishot accept on a published port's listening socket
  PathEvent,   // inotify read: the watched netns path's directory changed
  UdpPublished,  // multishot poll: a published UDP socket has datagrams
  Control,       // multishot poll: the control thread queued work (eventfd)
};

struct Tag {
  Op op = Op::None;
  uint16_t generation = 0;
  uint32_t slot = 0;
};

// user_data layout: [63..56] op, [55..40] generation, [31..0] slot.
constexpr uint64_t encode(Tag t) {
  return (uint64_t{static_cast<uint8_t>(t.op)} << 56) | (uint64_t{t.generation} << 40) | t.slot;
}
constexpr Tag decode(uint64_t v) {
  return Tag{static_cast<Op>(v >> 56), static_cast<uint16_t>((v >> 40) & 0xffff),
             static_cast<uint32_t>(v & 0xffffffff)};
}

// A provided-buffer ring: `count` buffers of `size` bytes in buffer group
// `group`. Requests with IOSQE_BUFFER_SELECT and this group get one.
class BufferRing {
 public:
  ~BufferRing();
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;

  uint16_t group() const { return group_; }
  uint32_t size() const { return size_; }
  // The bytes of buffer `bid` that a completion of `len` bytes filled.
  std::span<const std::byte> data(uint16_t bid, size_t len) const;
  // Returns buffer `bid` to the kernel (visible after the next commit()).
  void recycle(uint16_t bid);
  void commit();

 private:
  friend class Ring;
  BufferRing() = default;
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

class Ring {
 public:
  // Sets up a ring with `entries` submission slots. Probes the features netd
  // relies on and returns a message naming what is missing.
  static Expected<std::unique_ptr<Ring>, std::string> create(unsigned entries);
  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  // A submission entry; when the queue is full, what is queued is submitted
  // first. Never returns null.
  io_uring_sqe* sqe(Tag tag);
  // Submits what is queued and waits for at least one completion, or until
  // `timeout` passes (nullopt: no limit). Returns 0 or -errno (-ETIME/-EINTR
  // are normal wake-ups).
  int submit_and_wait(std::optional<Duration> timeout);
  // Calls fn(const io_uring_cqe&) for every completion ready now, then marks
  // them seen. Returns how many there were.
  template <class Fn>
  unsigned for_each_completion(Fn&& fn) {
    unsigned head, n = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      fn(*cqe);
      ++n;
    }
    io_uring_cq_advance(&ring_, n);
    return n;
  }
  Expected<std::unique_ptr<BufferRing>, std::string> make_buffer_ring(uint16_t group, uint32_t count,
                                                                       uint32_t size);
  io_uring* raw() { return &ring_; }

 private:
  Ring() = default;
  io_uring ring_{};
  bool ext_arg_ = false;
};

}  // namespace netd::uring
