// ThreadInbox: items one thread hands to another thread's event loop,
// bounded, without ever blocking either of them.
//
// Theory of operation: post() (any thread) appends an item under a mutex
// and, when the inbox was empty, writes 1 to an eventfd; the receiving loop
// keeps a readiness watch on eventfd() (common/fd_watch.h) and take()s the
// whole list on its own thread, outside the lock. The mutex is held only to
// move a vector. The inbox holds at most `capacity` items: a post beyond
// that is refused (false), so a sender that produces faster than the
// receiver drains (a flood) costs dropped items, never unbounded memory.
// Used between the queues of a multi-queue tap (tap/queue_worker.h): frames
// for queue 0, and control closures for the workers.
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <vector>

#include "common/unique_fd.h"

namespace netd {

template <class T>
class ThreadInbox {
 public:
  // Aborts only if eventfd() itself fails (out of fds at start-up).
  explicit ThreadInbox(size_t capacity)
      : efd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)), capacity_(capacity) {
    if (!efd_) std::abort();
  }
  ThreadInbox(const ThreadInbox&) = delete;
  ThreadInbox& operator=(const ThreadInbox&) = delete;

  // Queues `item` for the receiving thread; false (item dropped) when full.
  bool post(T item) {
    bool wake;
    {
      std::lock_guard lock(mu_);
      if (items_.size() >= capacity_) return false;
      wake = items_.empty();
      items_.push_back(std::move(item));
    }
    if (wake) {
      uint64_t one = 1;
      [[maybe_unused]] ssize_t n = ::write(efd_.get(), &one, sizeof one);
    }
    return true;
  }
  // Readable (POLLIN) while items wait. Non-blocking, close-on-exec.
  int eventfd() const { return efd_.get(); }
  // Everything posted so far, in order (the receiving thread).
  std::vector<T> take() {
    uint64_t count;
    [[maybe_unused]] ssize_t n = ::read(efd_.get(), &count, sizeof count);
    std::vector<T> out;
    std::lock_guard lock(mu_);
    out.swap(items_);
    return out;
  }

 private:
  UniqueFd efd_;
  size_t capacity_;
  std::mutex mu_;
  std::vector<T> items_;
};

}  // namespace netd
