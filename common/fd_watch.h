// FdWatch: calls back on the loop thread whenever an fd turns readable.
//
// Theory of operation: one multishot readiness poll on the event loop, armed
// again whenever the kernel ends it. For fds whose owner only needs to hear
// "something is there" and then reads it itself: the eventfd of a
// ControlQueue (work posted by the control thread), for example.
#pragma once

#include <functional>

#include "common/event_loop.h"

namespace netd {

class FdWatch final : public loop::Handler {
 public:
  // Watches `fd` (not owned; it must outlive the watch) from now on.
  FdWatch(loop::EventLoop& loop, int fd, std::function<void()> on_readable);
  void on_completion(Time now, const loop::Completion& c) override;
  // No more callbacks (e.g. the fd reached its end: it would stay readable).
  void stop();

 private:
  enum class Op : uint8_t { Readable };
  void arm();
  int fd_;
  std::function<void()> on_readable_;
  bool stopped_ = false;
};

}  // namespace netd
