#include "common/uring.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

namespace netd::loop {

namespace {

// The operations UringLoop submits, with what they are for (a kernel
// without one of them cannot run netd's loops).
struct NeededOp {
  int op;
  const char* name;
};
constexpr NeededOp kNeededOps[] = {
    {IORING_OP_POLL_ADD, "POLL_ADD"},   {IORING_OP_READ, "READ"},
    {IORING_OP_RECV, "RECV"},           {IORING_OP_SEND, "SEND"},
    {IORING_OP_CONNECT, "CONNECT"},     {IORING_OP_ACCEPT, "ACCEPT"},
    {IORING_OP_SPLICE, "SPLICE"},       {IORING_OP_ASYNC_CANCEL, "ASYNC_CANCEL"},
    {IORING_OP_CLOSE, "CLOSE"},
};

// Names the first operation in kNeededOps this kernel's io_uring lacks.
std::optional<std::string> missing_op(io_uring* ring) {
  io_uring_probe* probe = io_uring_get_probe_ring(ring);
  if (!probe) return std::nullopt;  // probing itself is older than every op we need
  std::optional<std::string> missing;
  for (const auto& n : kNeededOps) {
    if (!io_uring_opcode_supported(probe, n.op)) {
      missing = n.name;
      break;
    }
  }
  io_uring_free_probe(probe);
  return missing;
}

}  // namespace

Expected<std::unique_ptr<UringLoop>, std::string> UringLoop::create(unsigned entries) {
  std::unique_ptr<UringLoop> r(new UringLoop());
  io_uring_params p{};
  // SUBMIT_ALL: keep submitting the rest of a batch when one SQE fails early,
  //   so one bad socket cannot stall the others' requests.
  // COOP_TASKRUN: the single data-plane thread is never interrupted by an IPI
  //   to run completion work; it runs when we enter the kernel anyway.
  // SINGLE_ISSUER: only this thread submits, letting the kernel skip locking.
  p.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER;
  // CQSIZE: four times as many completion slots as submission slots:
  //   multishot requests produce several completions each.
  p.flags |= IORING_SETUP_CQSIZE;
  p.cq_entries = entries * 4;
  int rc = io_uring_queue_init_params(entries, &r->ring_, &p);
  if (rc == -EINVAL) {
    // Older kernels (< 6.0) reject the newer flags: fall back to defaults.
    p = io_uring_params{};
    p.flags = IORING_SETUP_CQSIZE;
    p.cq_entries = entries * 4;
    rc = io_uring_queue_init_params(entries, &r->ring_, &p);
  }
  if (rc < 0) {
    std::string msg = std::string("cannot set up io_uring: ") + std::strerror(-rc);
    if (rc == -EPERM || rc == -ENOSYS)
      msg += " (io_uring is disabled on this host: see sysctl kernel.io_uring_disabled)";
    return unexpected(msg);
  }
  r->initialized_ = true;
  // NODROP (5.5): a full completion queue holds completions back instead of
  // losing them; the loop's bounded dispatch relies on it.
  if (!(p.features & IORING_FEAT_NODROP))
    return unexpected(std::string("this kernel's io_uring lacks IORING_FEAT_NODROP (Linux >= 5.5 needed)"));
  // EXT_ARG (5.11) lets a wait carry its own timeout; without it liburing's
  // submit_and_wait_timeout queues a timeout SQE instead. Either works.
  if (auto op = missing_op(&r->ring_))
    return unexpected("this kernel's io_uring lacks IORING_OP_" + *op + " (netd needs Linux >= 6.0)");
  return r;
}

UringLoop::~UringLoop() {
  if (initialized_) io_uring_queue_exit(&ring_);
}

io_uring_sqe* UringLoop::sqe(Tag t) {
  io_uring_sqe* s = io_uring_get_sqe(&ring_);
  while (!s) {
    io_uring_submit(&ring_);
    s = io_uring_get_sqe(&ring_);
  }
  io_uring_sqe_set_data64(s, encode(t));
  return s;
}

void UringLoop::poll(Tag t, int fd, unsigned events) { io_uring_prep_poll_add(sqe(t), fd, events); }
void UringLoop::poll_multishot(Tag t, int fd, unsigned events) { io_uring_prep_poll_multishot(sqe(t), fd, events); }
void UringLoop::read(Tag t, int fd, void* buf, size_t len) {
  // Offset -1: the file's own position (signalfd and inotify have none to give).
  io_uring_prep_read(sqe(t), fd, buf, static_cast<unsigned>(len), static_cast<uint64_t>(-1));
}
void UringLoop::recv(Tag t, int fd, void* buf, size_t len, int flags) {
  io_uring_prep_recv(sqe(t), fd, buf, len, flags);
}
void UringLoop::recv_multishot(Tag t, int fd, BufferPool& pool) {
  io_uring_sqe* e = sqe(t);
  io_uring_prep_recv_multishot(e, fd, nullptr, 0, 0);
  e->flags |= IOSQE_BUFFER_SELECT;
  e->buf_group = static_cast<UringBufferPool&>(pool).group();
}
void UringLoop::send(Tag t, int fd, const void* buf, size_t len, int flags) {
  io_uring_prep_send(sqe(t), fd, buf, len, flags);
}
void UringLoop::connect(Tag t, int fd, const sockaddr* addr, socklen_t len) {
  io_uring_prep_connect(sqe(t), fd, addr, len);
}
void UringLoop::accept_multishot(Tag t, int fd, int flags) {
  io_uring_prep_multishot_accept(sqe(t), fd, nullptr, nullptr, flags);
}
void UringLoop::splice(Tag t, int fd_in, int fd_out, unsigned len, unsigned flags) {
  io_uring_prep_splice(sqe(t), fd_in, -1, fd_out, -1, len, flags);
}
void UringLoop::cancel(Tag t) { io_uring_prep_cancel64(sqe(Tag{}), encode(t), 0); }
void UringLoop::cancel_and_close(int fd) {
  // A hard link runs the close even when there was nothing to cancel; the
  // ring keeps the file alive until the cancelled requests finish.
  io_uring_sqe* c = sqe(Tag{});
  io_uring_prep_cancel_fd(c, fd, IORING_ASYNC_CANCEL_ALL);
  c->flags |= IOSQE_IO_HARDLINK;
  io_uring_prep_close(sqe(Tag{}), fd);
}

int UringLoop::wait(std::optional<Duration> timeout) {
  if (!timeout) return io_uring_submit_and_wait(&ring_, 1);
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(*timeout).count();
  if (ns < 0) ns = 0;
  __kernel_timespec ts{};
  ts.tv_sec = ns / 1000000000;
  ts.tv_nsec = ns % 1000000000;
  io_uring_cqe* cqe = nullptr;
  int rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
  return rc < 0 ? rc : 0;
}

unsigned UringLoop::dispatch(Time now, unsigned max) {
  unsigned head, n = 0;
  io_uring_cqe* cqe;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    if (n == max) break;
    ++n;
    Completion c;
    c.tag = decode(cqe->user_data);
    c.res = cqe->res;
    c.more = (cqe->flags & IORING_CQE_F_MORE) != 0;
    if (cqe->flags & IORING_CQE_F_BUFFER) c.buffer = static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
    if (Handler* h = handler(c.tag.handler)) deliver(*h, now, c);
  }
  io_uring_cq_advance(&ring_, n);
  return n;
}

bool UringLoop::has_ready() const { return io_uring_cq_ready(&ring_) > 0; }

Expected<std::unique_ptr<BufferPool>, std::string> UringLoop::make_buffer_pool(uint32_t count, uint32_t size) {
  std::unique_ptr<UringBufferPool> b(new UringBufferPool());
  b->group_ = next_group_++;
  b->count_ = count;
  b->size_ = size;
  b->br_len_ = count * sizeof(io_uring_buf);
  void* br = ::mmap(nullptr, b->br_len_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (br == MAP_FAILED) return unexpected(std::string("mmap buffer ring: ") + std::strerror(errno));
  b->br_ = static_cast<io_uring_buf_ring*>(br);
  b->mem_len_ = size_t{count} * size;
  void* mem = ::mmap(nullptr, b->mem_len_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) return unexpected(std::string("mmap buffers: ") + std::strerror(errno));
  b->mem_ = static_cast<std::byte*>(mem);

  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(b->br_);
  reg.ring_entries = count;
  reg.bgid = b->group_;
  int rc = io_uring_register_buf_ring(&ring_, &reg, 0);
  if (rc < 0) {
    return unexpected(std::string("cannot register an io_uring provided-buffer ring: ") + std::strerror(-rc) +
                      " (netd needs Linux >= 6.0)");
  }
  b->ring_ = &ring_;  // registered: the destructor unregisters
  io_uring_buf_ring_init(b->br_);
  for (uint32_t i = 0; i < count; ++i) b->recycle(static_cast<uint16_t>(i));
  b->commit();
  return std::unique_ptr<BufferPool>(std::move(b));
}

UringBufferPool::~UringBufferPool() {
  if (ring_) io_uring_unregister_buf_ring(ring_, group_);
  if (mem_) ::munmap(mem_, mem_len_);
  if (br_) ::munmap(br_, br_len_);
}

std::span<const std::byte> UringBufferPool::data(uint16_t id, size_t len) const {
  if (id >= count_) return {};
  if (len > size_) len = size_;
  return {mem_ + size_t{id} * size_, len};
}

void UringBufferPool::recycle(uint16_t id) {
  io_uring_buf_ring_add(br_, mem_ + size_t{id} * size_, size_, id, io_uring_buf_ring_mask(count_), pending_++);
}

void UringBufferPool::commit() {
  if (pending_ == 0) return;
  io_uring_buf_ring_advance(br_, pending_);
  pending_ = 0;
}

}  // namespace netd::loop
