#include "portfwd/control_queue.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace netd::portfwd {

ControlQueue::ControlQueue() : efd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (!efd_) {
    std::perror("netd: eventfd");
    std::abort();
  }
}

void ControlQueue::post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    items_.push_back(std::move(fn));
  }
  uint64_t one = 1;
  // A full counter (2^64-2 pending wake-ups) is impossible; EAGAIN still means "readable".
  (void)!::write(efd_.get(), &one, sizeof one);
}

size_t ControlQueue::drain() {
  uint64_t n = 0;
  (void)!::read(efd_.get(), &n, sizeof n);
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    batch.swap(items_);
  }
  for (auto& fn : batch) fn();
  return batch.size();
}

}  // namespace netd::portfwd
