#include "common/fd_watch.h"

#include <poll.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace netd {

FdWatch::FdWatch(loop::EventLoop& loop, int fd, std::function<void()> on_readable)
    : Handler(loop), fd_(fd), on_readable_(std::move(on_readable)) {
  arm();
}

void FdWatch::arm() { loop().poll_multishot(tag(Op::Readable), fd_, POLLIN); }

void FdWatch::stop() {
  if (stopped_) return;
  stopped_ = true;
  loop().cancel(tag(Op::Readable));
}

void FdWatch::on_completion(Time, const loop::Completion& c) {
  if (stopped_) return;
  if (c.res < 0 && c.res != -EINTR) {
    // Cancelled at teardown, or the fd went bad: arming again would spin.
    if (c.res != -ECANCELED) LOG_WARN("watching fd %d failed: %s", fd_, std::strerror(-c.res));
    return;
  }
  if (c.res >= 0 && on_readable_) on_readable_();
  if (!c.more) arm();
}

}  // namespace netd
