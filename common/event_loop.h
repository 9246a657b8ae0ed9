// The event loop of netd's data planes (`netd attach`, `netd forward`): the
// seam between the parts that own fds and the kernel interface that waits.
//
// Theory of operation: one thread owns one EventLoop. Parts of a data plane
// (the tap port, host sockets, published ports, lifecycle watches, ...) are
// Handlers: each registers with the loop, submits operations on its fds
// (poll, read, recv, send, connect, accept, splice, cancel), and gets each
// operation's Completion back through on_completion(). The loop's owner
// runs rounds: wait() until something completed or a timeout passed, then
// dispatch() a bounded batch of completions, then its own work.
//
// Every operation carries a Tag, packed into 64 bits of user data: which
// handler submitted it (the loop numbers handlers as they register), and
// three fields that belong to that handler: its own operation code (each
// handler has an enum of its own; codes of different handlers never meet),
// the slot of the object the operation is for, and that slot's generation.
// A handler bumps a slot's generation when it reuses the slot
// (common/slot_table.h), so a completion that arrives for an earlier
// occupant (a socket closed while a multishot receive was still armed) is
// recognised and dropped.
//
// Buffers handed to read/recv/send stay owned by the caller and must stay
// valid until the operation's completion; a connect's address must stay
// valid until the next wait(). Multishot receives take their buffers from a
// BufferPool instead, so thousands of idle sockets hold no buffer; the
// handler gives each one back (recycle) once it consumed the data.
//
// Implementations: UringLoop (common/uring.h), and EpollLoop
// (common/epoll_loop.h) for hosts that refuse io_uring
// (kernel.io_uring_disabled, container seccomp profiles), which carries out
// each operation with readiness: wait for the fd, then make the system call
// without blocking and complete with its result. make_event_loop() picks
// one (NETD_EVENT_LOOP can force either); the handlers are the same for both. Nothing outside common/uring.*
// names io_uring.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/expected.h"
#include "common/time.h"

namespace netd::loop {

struct Tag {
  uint8_t handler = 0;  // 0: nobody (completions of cancels and closes)
  uint8_t op = 0;       // the handler's own operation code
  uint16_t generation = 0;
  uint32_t slot = 0;
};

// user_data layout: [63..56] handler, [55..48] op, [47..32] generation, [31..0] slot.
constexpr uint64_t encode(Tag t) {
  return (uint64_t{t.handler} << 56) | (uint64_t{t.op} << 48) | (uint64_t{t.generation} << 32) | t.slot;
}
constexpr Tag decode(uint64_t v) {
  return Tag{static_cast<uint8_t>(v >> 56), static_cast<uint8_t>((v >> 48) & 0xff),
             static_cast<uint16_t>((v >> 32) & 0xffff), static_cast<uint32_t>(v & 0xffffffff)};
}

struct Completion {
  Tag tag;
  int res = 0;                     // the operation's result: >= 0, or -errno
  bool more = false;               // a multishot operation stays armed: more completions follow
  std::optional<uint16_t> buffer;  // recv_multishot: the pool buffer holding the data
};

// The kinds of operation a loop's owner submits, one bit per EventLoop
// operation above. An owner declares the ones it uses; an io_uring loop
// admits exactly those on its ring (IORING_REGISTER_RESTRICTIONS, see
// common/uring.h), so code that has taken over the process cannot use the
// ring for anything else (opening files, UNIX or netlink sockets). Using an
// operation that was not declared is a programming error: the loop says so
// and aborts, on io_uring and epoll alike, so a missing bit shows in the
// first test that runs the new code.
enum class LoopOp : uint32_t {
  Poll = 1u << 0,           // poll(), poll_multishot()
  Read = 1u << 1,           // read()
  Recv = 1u << 2,           // recv()
  RecvMultishot = 1u << 3,  // recv_multishot(), make_buffer_pool()
  Send = 1u << 4,           // send()
  Connect = 1u << 5,        // connect()
  Accept = 1u << 6,         // accept_multishot()
  Splice = 1u << 7,         // splice()
  Cancel = 1u << 8,         // cancel()
  CancelAndClose = 1u << 9, // cancel_and_close()
};
using LoopOps = uint32_t;  // a set of LoopOp bits
constexpr LoopOps operator|(LoopOp a, LoopOp b) { return static_cast<LoopOps>(a) | static_cast<LoopOps>(b); }
constexpr LoopOps operator|(LoopOps a, LoopOp b) { return a | static_cast<LoopOps>(b); }
constexpr bool has_op(LoopOps set, LoopOp op) { return (set & static_cast<LoopOps>(op)) != 0; }
constexpr LoopOps kAllLoopOps = (1u << 10) - 1;
// The name of `op` ("recv_multishot"), for messages.
const char* loop_op_name(LoopOp op);

class EventLoop;

// A part of a data plane that submits operations and handles their
// completions. Registers with `loop` on construction and leaves it on
// destruction (the loop must outlive its handlers).
class Handler {
 public:
  Handler(const Handler&) = delete;
  Handler& operator=(const Handler&) = delete;
  virtual void on_completion(Time now, const Completion& c) = 0;

 protected:
  explicit Handler(EventLoop& loop);
  virtual ~Handler();
  EventLoop& loop() const { return loop_; }
  // A tag of this handler: `op` is any enum of the handler's own.
  template <class Op>
  Tag tag(Op op, uint32_t slot = 0, uint16_t generation = 0) const {
    return Tag{id_, static_cast<uint8_t>(op), generation, slot};
  }

 private:
  EventLoop& loop_;
  uint8_t id_;
};

// Buffers the loop picks for multishot receives.
class BufferPool {
 public:
  virtual ~BufferPool() = default;
  // The bytes of buffer `id` that a completion of `len` bytes filled.
  virtual std::span<const std::byte> data(uint16_t id, size_t len) const = 0;
  // Gives buffer `id` back; usable again after commit().
  virtual void recycle(uint16_t id) = 0;
  // Publishes the recycled buffers (once per round is enough).
  virtual void commit() = 0;
};

class EventLoop {
 public:
  virtual ~EventLoop() = default;
  // "io_uring" (or, later, "epoll"): for the log.
  virtual const char* name() const = 0;

  // `count` buffers of `size` bytes for recv_multishot.
  virtual Expected<std::unique_ptr<BufferPool>, std::string> make_buffer_pool(uint32_t count, uint32_t size) = 0;

  // ---- operations: each completes once (multishot: until !more) ----------
  // Readiness of `fd` for `events` (POLLIN, POLLOUT, ...); res = revents.
  virtual void poll(Tag t, int fd, unsigned events) = 0;
  // The same, completing on every readiness until cancelled or an error.
  virtual void poll_multishot(Tag t, int fd, unsigned events) = 0;
  // read(2) from the fd's current position (signalfd, inotify); res = bytes.
  virtual void read(Tag t, int fd, void* buf, size_t len) = 0;
  virtual void recv(Tag t, int fd, void* buf, size_t len, int flags) = 0;
  // A receive per datagram into a buffer of `pool`, until cancelled or an
  // error (ENOBUFS when the pool ran dry: re-arm after recycling).
  virtual void recv_multishot(Tag t, int fd, BufferPool& pool) = 0;
  virtual void send(Tag t, int fd, const void* buf, size_t len, int flags) = 0;
  // connect(2) of a non-blocking socket, waiting for the handshake; res = 0 or -errno.
  virtual void connect(Tag t, int fd, const sockaddr* addr, socklen_t len) = 0;
  // An accept per connection (res = the new fd, opened with `flags`), until cancelled.
  virtual void accept_multishot(Tag t, int fd, int flags) = 0;
  // splice(2) of up to `len` bytes between two fds, one of them a pipe.
  virtual void splice(Tag t, int fd_in, int fd_out, unsigned len, unsigned flags) = 0;
  // Cancels the operation(s) submitted with tag `t`; they complete with -ECANCELED.
  virtual void cancel(Tag t) = 0;
  // Cancels every operation on `fd`, then closes it, in this order. The
  // cancelled operations still complete (and are reported) afterwards.
  virtual void cancel_and_close(int fd) = 0;

  // ---- rounds ----------------------------------------------------------------
  // Submits what is queued and waits until a completion is ready or
  // `timeout` passed (nullopt: no limit). Returns 0 or -errno; -ETIME,
  // -EINTR and -EBUSY are ordinary wake-ups.
  virtual int wait(std::optional<Duration> timeout) = 0;
  // Hands at most `max` ready completions to their handlers; returns how many.
  virtual unsigned dispatch(Time now, unsigned max) = 0;
  // Completions are ready now (a bounded dispatch left some behind).
  virtual bool has_ready() const = 0;

  // The operations the owner declared (LoopOptions::ops).
  LoopOps ops() const { return ops_; }

 private:
  friend class Handler;
  uint8_t add_handler(Handler& h);
  void remove_handler(uint8_t id);
  [[noreturn]] void undeclared(LoopOp op) const;

 protected:
  // Every operation starts here: aborts, naming `op`, unless it was declared.
  void require(LoopOp op) const {
    if (!has_op(ops_, op)) undeclared(op);
  }
  LoopOps ops_ = kAllLoopOps;
  // The handler of `id`, or nullptr (0, or one that left).
  Handler* handler(uint8_t id) const { return id < handlers_.size() ? handlers_[id] : nullptr; }
  static void deliver(Handler& h, Time now, const Completion& c) { h.on_completion(now, c); }

 private:
  std::vector<Handler*> handlers_{nullptr};  // index = handler id; 0 is nobody
};

enum class LoopKind : uint8_t {
  Auto,   // what NETD_EVENT_LOOP says; unset: io_uring where the host allows it,
          // else epoll (said once in the log)
  Uring,  // io_uring or an error
  Epoll,  // epoll (tests, and measuring the fallback)
};
struct LoopOptions {
  unsigned entries = 1024;  // submission slots (io_uring); completions get four times as many
  LoopKind kind = LoopKind::Auto;
  LoopOps ops = kAllLoopOps;  // what the owner will submit (a data plane names its own)
  // The loop is made on one thread and run on another (made before the
  // sandbox, run on a thread started after it). io_uring: the ring is
  // enabled by its first wait(), so the running thread is its single
  // issuer; until then at most `entries` requests may be queued.
  bool runs_on_another_thread = false;
};

// The environment variable that lets a person (or bench/) choose the loop
// of every data plane without a command-line option in each of netd's
// personalities (attach, slirp4netns, pasta, forward): "epoll" forces the
// fallback, "io_uring" (or "uring") refuses it, "auto" or unset leaves the
// choice to the host. Only LoopKind::Auto reads it.
inline constexpr const char* kLoopEnv = "NETD_EVENT_LOOP";
// The kind LoopKind::Auto stands for when NETD_EVENT_LOOP is `value`
// (nullptr: unset), or a message naming the words it takes.
Expected<LoopKind, std::string> loop_kind_from_env(const char* value);

// The loop for this host. Returns a message naming what is missing when
// no loop of the asked kind can be made (or NETD_EVENT_LOOP is not a word
// it knows).
Expected<std::unique_ptr<EventLoop>, std::string> make_event_loop(const LoopOptions& o);

}  // namespace netd::loop
