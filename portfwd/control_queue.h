// ControlQueue: how the control thread hands work to a data-plane thread
// without ever blocking it.
//
// Theory of operation: post() (any thread) appends a closure under a mutex
// and writes 1 to an eventfd. The data-plane loop keeps a poll on eventfd()
// armed on its own ring; when it fires, the loop calls drain(), which takes
// the whole list under the mutex and runs it on the loop thread, outside the
// lock. A closure that must answer the control thread posts the answer back
// to the control thread's own executor. The mutex is held only to move a
// vector, so neither side can stall the other.
#pragma once

#include <functional>
#include <mutex>
#include <vector>

#include "common/unique_fd.h"

namespace netd::portfwd {

class ControlQueue {
 public:
  ControlQueue();  // aborts only if eventfd() itself fails (out of fds at start-up)
  ControlQueue(const ControlQueue&) = delete;
  ControlQueue& operator=(const ControlQueue&) = delete;

  // Queues `fn` to run on the thread that calls drain(). Thread-safe.
  void post(std::function<void()> fn);
  // Readable (POLLIN) while work is queued. Non-blocking, close-on-exec.
  int eventfd() const { return efd_.get(); }
  // Runs everything queued so far, on the calling thread. Returns how many ran.
  size_t drain();

 private:
  UniqueFd efd_;
  std::mutex mu_;
  std::vector<std::function<void()>> items_;
};

}  // namespace netd::portfwd
