// EpollLoop: the event loop for hosts that refuse io_uring
// (kernel.io_uring_disabled, the seccomp profiles of container runtimes).
//
// Theory of operation: the same loop::EventLoop interface, carried out with
// readiness instead of completion. Each operation waits on its fd in a
// level-triggered epoll set (the union of what the fd's pending operations
// need: EPOLLIN for reads, receives and accepts, EPOLLOUT for sends and
// connects, the asked events for polls). When epoll reports the fd ready,
// each pending operation makes its system call without blocking (MSG_DONTWAIT,
// or a read right after readiness): -EAGAIN leaves it pending, anything else
// completes it. Multishot operations stay pending and complete once per
// datagram, connection or readiness. Operations that need no waiting
// (splice with SPLICE_F_NONBLOCK, a connect that finished at once) complete
// as they are submitted. Completions queue up and reach their handlers in
// dispatch(), never from inside a submission, as with io_uring.
//
// Differences the parts do not see: wait() has millisecond resolution (a
// timeout is rounded up), and a multishot poll on an fd nobody reads
// reports it again on every round (level-triggered).
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/event_loop.h"
#include "common/unique_fd.h"

namespace netd::loop {

class EpollLoop final : public EventLoop {
 public:
  // A loop for the operations in `ops` (LoopOptions::ops).
  static Expected<std::unique_ptr<EpollLoop>, std::string> create(LoopOps ops = kAllLoopOps);
  ~EpollLoop() override = default;

  const char* name() const override { return "epoll"; }
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
  bool has_ready() const override { return !ready_.empty(); }

 private:
  enum class Kind : uint8_t { Poll, PollMulti, Read, Recv, RecvMulti, Send, Connect, AcceptMulti };
  struct Pending {
    Kind kind = Kind::Poll;
    Tag tag;
    uint32_t events = 0;  // what it waits for (EPOLLIN, EPOLLOUT, or a poll's mask)
    void* buf = nullptr;
    size_t len = 0;
    int flags = 0;
    BufferPool* pool = nullptr;
  };
  struct FdState {
    std::vector<Pending> ops;
    uint32_t registered = 0;  // the events the epoll set has for this fd (0: not in it)
  };

  EpollLoop() = default;
  void add(int fd, Pending op);
  // Brings the epoll set in line with fd's pending operations; forgets fd
  // when none are left. Completes them with the error when epoll refuses fd.
  void sync(int fd);
  void on_ready(int fd, uint32_t revents);
  // Makes op's system call; true when the operation is finished.
  bool run(int fd, Pending& op, uint32_t revents);
  bool run_recv_multi(int fd, Pending& op);
  bool run_accept_multi(int fd, Pending& op);
  void complete(Tag t, int res, bool more = false, std::optional<uint16_t> buffer = std::nullopt);

  UniqueFd epfd_;
  std::unordered_map<int, FdState> fds_;
  std::unordered_map<uint64_t, int> fd_of_tag_;  // encoded tag of a pending operation -> its fd
  std::deque<Completion> ready_;
};

}  // namespace netd::loop
