#include "common/epoll_loop.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace netd::loop {

namespace {

// Datagrams or connections a multishot operation takes per readiness, so one
// busy socket cannot hold the loop.
constexpr int kMultiBatch = 64;
constexpr int kMaxEvents = 256;

// poll(2) and epoll share the bit values of the events netd asks for.
static_assert(POLLIN == EPOLLIN && POLLOUT == EPOLLOUT && POLLERR == EPOLLERR && POLLHUP == EPOLLHUP &&
              POLLRDHUP == EPOLLRDHUP && POLLPRI == EPOLLPRI);

void set_nonblocking(int fd) {
  int fl = ::fcntl(fd, F_GETFL);
  if (fl >= 0 && !(fl & O_NONBLOCK)) ::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

// Buffers for recv_multishot: a free list; recycled ones come back on commit.
class EpollBufferPool final : public BufferPool {
 public:
  EpollBufferPool(uint32_t count, uint32_t size) : mem_(size_t{count} * size), size_(size) {
    for (uint32_t i = count; i > 0; --i) free_.push_back(static_cast<uint16_t>(i - 1));
  }
  std::span<const std::byte> data(uint16_t id, size_t len) const override {
    if (size_t{id} * size_ >= mem_.size()) return {};
    return {mem_.data() + size_t{id} * size_, std::min<size_t>(len, size_)};
  }
  void recycle(uint16_t id) override { recycled_.push_back(id); }
  void commit() override {
    free_.insert(free_.end(), recycled_.begin(), recycled_.end());
    recycled_.clear();
  }
  std::optional<uint16_t> take() {
    if (free_.empty()) return std::nullopt;
    uint16_t id = free_.back();
    free_.pop_back();
    return id;
  }
  void put_back(uint16_t id) { free_.push_back(id); }
  std::byte* at(uint16_t id) { return mem_.data() + size_t{id} * size_; }
  uint32_t size() const { return size_; }

 private:
  std::vector<std::byte> mem_;
  uint32_t size_;
  std::vector<uint16_t> free_, recycled_;
};

}  // namespace

Expected<std::unique_ptr<EpollLoop>, std::string> EpollLoop::create(LoopOps ops) {
  std::unique_ptr<EpollLoop> l(new EpollLoop());
  l->ops_ = ops;
  l->epfd_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!l->epfd_) return unexpected(std::string("epoll_create1: ") + std::strerror(errno));
  return l;
}

Expected<std::unique_ptr<BufferPool>, std::string> EpollLoop::make_buffer_pool(uint32_t count, uint32_t size) {
  require(LoopOp::RecvMultishot);
  if (count == 0 || count > 0x10000) return unexpected(std::string("buffer pool: 1..65536 buffers"));
  return std::unique_ptr<BufferPool>(new EpollBufferPool(count, size));
}

void EpollLoop::complete(Tag t, int res, bool more, std::optional<uint16_t> buffer) {
  Completion c;
  c.tag = t;
  c.res = res;
  c.more = more;
  c.buffer = buffer;
  ready_.push_back(c);
}

void EpollLoop::add(int fd, Pending op) {
  fd_of_tag_[encode(op.tag)] = fd;
  fds_[fd].ops.push_back(op);
  sync(fd);
}

void EpollLoop::sync(int fd) {
  auto it = fds_.find(fd);
  if (it == fds_.end()) return;
  FdState& f = it->second;
  uint32_t want = 0;
  for (const auto& op : f.ops) want |= op.events;
  if (want == f.registered) {
    if (want == 0) fds_.erase(it);
    return;
  }
  epoll_event ev{};
  ev.events = want;
  ev.data.fd = fd;
  int rc = 0;
  if (want == 0) {
    ::epoll_ctl(epfd_.get(), EPOLL_CTL_DEL, fd, nullptr);  // (already gone if the fd was closed)
    fds_.erase(it);
    return;
  }
  rc = ::epoll_ctl(epfd_.get(), f.registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
  // The set may disagree with us when an fd number was closed and reused.
  if (rc < 0 && errno == ENOENT) rc = ::epoll_ctl(epfd_.get(), EPOLL_CTL_ADD, fd, &ev);
  if (rc < 0 && errno == EEXIST) rc = ::epoll_ctl(epfd_.get(), EPOLL_CTL_MOD, fd, &ev);
  if (rc == 0) {
    f.registered = want;
    return;
  }
  // Not pollable (or not an fd): every operation on it fails, as a
  // submission would.
  int err = errno;
  for (const auto& op : f.ops) {
    fd_of_tag_.erase(encode(op.tag));
    complete(op.tag, -err);
  }
  if (f.registered) ::epoll_ctl(epfd_.get(), EPOLL_CTL_DEL, fd, nullptr);
  fds_.erase(it);
}

// ---- submissions ---------------------------------------------------------------

void EpollLoop::poll(Tag t, int fd, unsigned events) {
  require(LoopOp::Poll);
  add(fd, {Kind::Poll, t, events});
}
void EpollLoop::poll_multishot(Tag t, int fd, unsigned events) {
  require(LoopOp::Poll);
  add(fd, {Kind::PollMulti, t, events});
}
void EpollLoop::read(Tag t, int fd, void* buf, size_t len) {
  require(LoopOp::Read);
  add(fd, {Kind::Read, t, EPOLLIN, buf, len});
}
void EpollLoop::recv(Tag t, int fd, void* buf, size_t len, int flags) {
  require(LoopOp::Recv);
  add(fd, {Kind::Recv, t, EPOLLIN, buf, len, flags});
}
void EpollLoop::recv_multishot(Tag t, int fd, BufferPool& pool) {
  require(LoopOp::RecvMultishot);
  add(fd, {Kind::RecvMulti, t, EPOLLIN, nullptr, 0, 0, &pool});
}
void EpollLoop::send(Tag t, int fd, const void* buf, size_t len, int flags) {
  require(LoopOp::Send);
  add(fd, {Kind::Send, t, EPOLLOUT, const_cast<void*>(buf), len, flags});
}
void EpollLoop::accept_multishot(Tag t, int fd, int flags) {
  require(LoopOp::Accept);
  // accept4 has no MSG_DONTWAIT: the listener itself must not block once
  // its queue is empty (only the loop accepts on it).
  set_nonblocking(fd);
  add(fd, {Kind::AcceptMulti, t, EPOLLIN, nullptr, 0, flags});
}

void EpollLoop::connect(Tag t, int fd, const sockaddr* addr, socklen_t len) {
  require(LoopOp::Connect);
  // The handshake is waited for, not blocked on (netd's own calls on the
  // socket say MSG_DONTWAIT anyway).
  set_nonblocking(fd);
  if (::connect(fd, addr, len) == 0) return complete(t, 0);
  if (errno != EINPROGRESS) return complete(t, -errno);
  add(fd, {Kind::Connect, t, EPOLLOUT});
}

void EpollLoop::splice(Tag t, int fd_in, int fd_out, unsigned len, unsigned flags) {
  require(LoopOp::Splice);
  // Non-blocking by contract (SPLICE_F_NONBLOCK, non-blocking fds): -EAGAIN
  // goes back to the caller, who polls for what it needs.
  ssize_t n = ::splice(fd_in, nullptr, fd_out, nullptr, len, flags | SPLICE_F_NONBLOCK);
  complete(t, n < 0 ? -errno : static_cast<int>(n));
}

void EpollLoop::cancel(Tag t) {
  require(LoopOp::Cancel);
  auto where = fd_of_tag_.find(encode(t));
  if (where == fd_of_tag_.end()) return;  // completed already (its completion stands)
  const int fd = where->second;
  fd_of_tag_.erase(where);
  auto it = fds_.find(fd);
  if (it == fds_.end()) return;
  auto& ops = it->second.ops;
  auto op = std::find_if(ops.begin(), ops.end(), [&](const Pending& p) { return encode(p.tag) == encode(t); });
  if (op == ops.end()) return;
  ops.erase(op);
  complete(t, -ECANCELED);
  sync(fd);
}

void EpollLoop::cancel_and_close(int fd) {
  require(LoopOp::CancelAndClose);
  auto it = fds_.find(fd);
  if (it != fds_.end()) {
    for (const auto& op : it->second.ops) {
      fd_of_tag_.erase(encode(op.tag));
      complete(op.tag, -ECANCELED);
    }
    if (it->second.registered) ::epoll_ctl(epfd_.get(), EPOLL_CTL_DEL, fd, nullptr);
    fds_.erase(it);
  }
  ::close(fd);
}

// ---- readiness -> completions -------------------------------------------------

int EpollLoop::wait(std::optional<Duration> timeout) {
  int ms = -1;
  if (!ready_.empty()) {
    ms = 0;
  } else if (timeout) {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(*timeout).count();
    ms = us <= 0 ? 0 : static_cast<int>(std::min<int64_t>((us + 999) / 1000, 1 << 30));
  }
  epoll_event evs[kMaxEvents];
  int n = ::epoll_wait(epfd_.get(), evs, kMaxEvents, ms);
  if (n < 0) return -errno;
  for (int i = 0; i < n; ++i) on_ready(evs[i].data.fd, evs[i].events);
  return 0;
}

void EpollLoop::on_ready(int fd, uint32_t revents) {
  auto it = fds_.find(fd);
  if (it == fds_.end()) return;
  auto& ops = it->second.ops;
  for (size_t i = 0; i < ops.size();) {
    Pending& op = ops[i];
    if (!(revents & (op.events | EPOLLERR | EPOLLHUP)) || !run(fd, op, revents)) {
      ++i;
      continue;
    }
    fd_of_tag_.erase(encode(op.tag));
    ops.erase(ops.begin() + static_cast<ptrdiff_t>(i));
  }
  sync(fd);
}

bool EpollLoop::run(int fd, Pending& op, uint32_t revents) {
  ssize_t n = 0;
  switch (op.kind) {
    case Kind::Poll:
      complete(op.tag, static_cast<int>(revents & (op.events | EPOLLERR | EPOLLHUP)));
      return true;
    case Kind::PollMulti:
      complete(op.tag, static_cast<int>(revents & (op.events | EPOLLERR | EPOLLHUP)), true);
      return false;
    case Kind::Read: n = ::read(fd, op.buf, op.len); break;
    case Kind::Recv: n = ::recv(fd, op.buf, op.len, op.flags | MSG_DONTWAIT); break;
    case Kind::Send: n = ::send(fd, op.buf, op.len, op.flags | MSG_DONTWAIT); break;
    case Kind::Connect: {
      int err = 0;
      socklen_t len = sizeof err;
      if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      complete(op.tag, -err);
      return true;
    }
    case Kind::RecvMulti: return run_recv_multi(fd, op);
    case Kind::AcceptMulti: return run_accept_multi(fd, op);
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return false;
  complete(op.tag, n < 0 ? -errno : static_cast<int>(n));
  return true;
}

bool EpollLoop::run_recv_multi(int fd, Pending& op) {
  auto& pool = static_cast<EpollBufferPool&>(*op.pool);
  for (int k = 0; k < kMultiBatch; ++k) {
    auto id = pool.take();
    if (!id) {
      complete(op.tag, -ENOBUFS);  // as io_uring: the caller re-arms after recycling
      return true;
    }
    ssize_t n = ::recv(fd, pool.at(*id), pool.size(), MSG_DONTWAIT);
    if (n < 0) {
      int err = errno;
      pool.put_back(*id);
      if (err == EAGAIN || err == EINTR) return false;
      complete(op.tag, -err);  // an error ends a multishot receive
      return true;
    }
    complete(op.tag, static_cast<int>(n), true, *id);
  }
  return false;
}

bool EpollLoop::run_accept_multi(int fd, Pending& op) {
  for (int k = 0; k < kMultiBatch; ++k) {
    int c = ::accept4(fd, nullptr, nullptr, op.flags);
    if (c >= 0) {
      complete(op.tag, c, true);
      continue;
    }
    if (errno == EAGAIN || errno == EINTR) return false;
    if (errno == ECONNABORTED) continue;
    complete(op.tag, -errno);  // an error ends a multishot accept (EMFILE: the caller retries later)
    return true;
  }
  return false;
}

unsigned EpollLoop::dispatch(Time now, unsigned max) {
  unsigned n = 0;
  while (n < max && !ready_.empty()) {
    Completion c = ready_.front();
    ready_.pop_front();
    ++n;
    if (Handler* h = handler(c.tag.handler)) deliver(*h, now, c);
  }
  return n;
}

}  // namespace netd::loop
