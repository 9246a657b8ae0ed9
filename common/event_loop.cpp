#include "common/event_loop.h"

#include <cstdlib>

#include "common/log.h"
#include "common/uring.h"

namespace netd::loop {

Handler::Handler(EventLoop& loop) : loop_(loop), id_(loop.add_handler(*this)) {}
Handler::~Handler() { loop_.remove_handler(id_); }

uint8_t EventLoop::add_handler(Handler& h) {
  // Ids are never reused: a completion still in flight for a handler that
  // left must not reach a newcomer. A data plane has a handful of parts.
  if (handlers_.size() > 0xff) {
    LOG_ERROR("event loop: more than 255 handlers");
    std::abort();
  }
  handlers_.push_back(&h);
  return static_cast<uint8_t>(handlers_.size() - 1);
}

void EventLoop::remove_handler(uint8_t id) {
  if (id < handlers_.size()) handlers_[id] = nullptr;
}

Expected<std::unique_ptr<EventLoop>, std::string> make_event_loop(const LoopOptions& o) {
  // The epoll fallback goes here: when UringLoop::create fails because
  // io_uring is refused (EPERM/ENOSYS: kernel.io_uring_disabled, a seccomp
  // profile), log that once and return an EpollLoop instead.
  auto r = UringLoop::create(o.entries);
  if (!r) return unexpected(r.error());
  return std::unique_ptr<EventLoop>(std::move(*r));
}

}  // namespace netd::loop
