#include "common/uring.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

#include "common/log.h"

namespace netd::loop {

namespace {

// What each loop operation puts on the ring: the opcodes of its SQEs, the
// SQE flags it sets, and the register operations it makes. The ring's
// restrictions are built from this table and the owner's LoopOps, so this
// table and the prep calls below are the one place to keep in step (the
// unit test UringRestrictions.EachOperationWorksOnARingOfItsOwn runs every
// operation on a ring that admits its row alone).
struct RingOpcode {
  int code;  // IORING_OP_*, or -1 for an unused slot
  const char* name;
};
struct RingUse {
  LoopOp op;
  RingOpcode opcodes[2];
  uint8_t sqe_flags;      // IOSQE_* the operation sets
  int register_ops[2];    // IORING_REGISTER_* it makes after the ring is enabled, or -1
};
constexpr RingOpcode kNoOpcode{-1, nullptr};
constexpr RingUse kRingUse[] = {
    {LoopOp::Poll, {{IORING_OP_POLL_ADD, "POLL_ADD"}, kNoOpcode}, 0, {-1, -1}},
    {LoopOp::Read, {{IORING_OP_READ, "READ"}, kNoOpcode}, 0, {-1, -1}},
    {LoopOp::Recv, {{IORING_OP_RECV, "RECV"}, kNoOpcode}, 0, {-1, -1}},
    // Provided-buffer rings: registered by make_buffer_pool() (also after
    // the sandbox, as sockets come), unregistered when a pool goes.
    {LoopOp::RecvMultishot,
     {{IORING_OP_RECV, "RECV"}, kNoOpcode},
     IOSQE_BUFFER_SELECT,
     {IORING_REGISTER_PBUF_RING, IORING_UNREGISTER_PBUF_RING}},
    {LoopOp::Send, {{IORING_OP_SEND, "SEND"}, kNoOpcode}, 0, {-1, -1}},
    {LoopOp::Connect, {{IORING_OP_CONNECT, "CONNECT"}, kNoOpcode}, 0, {-1, -1}},
    {LoopOp::Accept, {{IORING_OP_ACCEPT, "ACCEPT"}, kNoOpcode}, 0, {-1, -1}},
    {LoopOp::Splice, {{IORING_OP_SPLICE, "SPLICE"}, kNoOpcode}, 0, {-1, -1}},
    {LoopOp::Cancel, {{IORING_OP_ASYNC_CANCEL, "ASYNC_CANCEL"}, kNoOpcode}, 0, {-1, -1}},
    // The cancel is hard-linked to the close (cancel_and_close below).
    {LoopOp::CancelAndClose,
     {{IORING_OP_ASYNC_CANCEL, "ASYNC_CANCEL"}, {IORING_OP_CLOSE, "CLOSE"}},
     IOSQE_IO_HARDLINK,
     {-1, -1}},
};

// Names the first opcode `ops` needs that this kernel's io_uring lacks.
std::optional<std::string> missing_op(io_uring* ring, LoopOps ops) {
  io_uring_probe* probe = io_uring_get_probe_ring(ring);
  if (!probe) return std::nullopt;  // probing itself is older than every op we need
  std::optional<std::string> missing;
  for (const RingUse& u : kRingUse) {
    if (!has_op(ops, u.op)) continue;
    for (const RingOpcode& c : u.opcodes) {
      if (c.code >= 0 && !missing && !io_uring_opcode_supported(probe, c.code)) missing = c.name;
    }
  }
  io_uring_free_probe(probe);
  return missing;
}

// The ring's allow-list for `ops`: each opcode, each register operation and
// the SQE flags of the operations the owner declared, nothing else.
// `timeout_op`: wait() needs IORING_OP_TIMEOUT (a kernel without
// IORING_FEAT_EXT_ARG, where liburing queues a timeout SQE per wait).
std::vector<io_uring_restriction> restrictions_for(LoopOps ops, bool timeout_op) {
  bool sqe_op[IORING_OP_LAST] = {};
  bool register_op[IORING_REGISTER_LAST] = {};
  uint8_t flags = 0;
  for (const RingUse& u : kRingUse) {
    if (!has_op(ops, u.op)) continue;
    for (const RingOpcode& c : u.opcodes)
      if (c.code >= 0) sqe_op[c.code] = true;
    for (int r : u.register_ops)
      if (r >= 0) register_op[r] = true;
    flags |= u.sqe_flags;
  }
  if (timeout_op) sqe_op[IORING_OP_TIMEOUT] = true;
  std::vector<io_uring_restriction> res;
  for (int i = 0; i < IORING_OP_LAST; ++i) {
    if (!sqe_op[i]) continue;
    io_uring_restriction r{};
    r.opcode = IORING_RESTRICTION_SQE_OP;
    r.sqe_op = static_cast<uint8_t>(i);
    res.push_back(r);
  }
  for (int i = 0; i < IORING_REGISTER_LAST; ++i) {
    if (!register_op[i]) continue;
    io_uring_restriction r{};
    r.opcode = IORING_RESTRICTION_REGISTER_OP;
    r.register_op = static_cast<uint8_t>(i);
    res.push_back(r);
  }
  // Always present, so a ring with no flagged operation admits no flag.
  io_uring_restriction f{};
  f.opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
  f.sqe_flags = flags;
  res.push_back(f);
  return res;
}

// io_uring_register(2) on `ring`; 0 or -errno. (Debian's liburing 2.3
// declares io_uring_register_restrictions and io_uring_enable_rings but its
// shared library does not export them.)
int register_on(io_uring* ring, unsigned opcode, void* arg, unsigned nr_args) {
  long rc = ::syscall(__NR_io_uring_register, ring->ring_fd, opcode, arg, nr_args);
  return rc < 0 ? -errno : 0;
}

}  // namespace

Expected<std::unique_ptr<UringLoop>, std::string> UringLoop::create(unsigned entries, LoopOps ops,
                                                                   bool enable_on_first_wait) {
  std::unique_ptr<UringLoop> r(new UringLoop());
  r->ops_ = ops;
  io_uring_params p{};
  // R_DISABLED: the ring starts disabled, so the allow-list below is in
  //   place before the first submission (restrictions can only be
  //   registered on a disabled ring; enabling it seals them).
  // SUBMIT_ALL: keep submitting the rest of a batch when one SQE fails early,
  //   so one bad socket cannot stall the others' requests.
  // COOP_TASKRUN: the single data-plane thread is never interrupted by an IPI
  //   to run completion work; it runs when we enter the kernel anyway.
  // SINGLE_ISSUER: only this thread submits, letting the kernel skip locking
  //   (with R_DISABLED, the thread that enables the ring: create()'s caller).
  p.flags = IORING_SETUP_R_DISABLED | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN |
            IORING_SETUP_SINGLE_ISSUER;
  // CQSIZE: four times as many completion slots as submission slots:
  //   multishot requests produce several completions each.
  p.flags |= IORING_SETUP_CQSIZE;
  p.cq_entries = entries * 4;
  int rc = io_uring_queue_init_params(entries, &r->ring_, &p);
  if (rc == -EINVAL) {
    // Older kernels (< 6.0) reject the newer flags: fall back to defaults.
    p = io_uring_params{};
    p.flags = IORING_SETUP_R_DISABLED | IORING_SETUP_CQSIZE;
    p.cq_entries = entries * 4;
    rc = io_uring_queue_init_params(entries, &r->ring_, &p);
  }
  if (rc < 0) {
    std::string msg = std::string("cannot set up io_uring: ") + std::strerror(-rc);
    if (rc == -EPERM || rc == -ENOSYS)
      msg += " (refused: kernel.io_uring_disabled, or a seccomp profile such as a container runtime's default; `netd doctor` tells which)";
    return unexpected(msg);
  }
  r->initialized_ = true;
  // NODROP (5.5): a full completion queue holds completions back instead of
  // losing them; the loop's bounded dispatch relies on it.
  if (!(p.features & IORING_FEAT_NODROP))
    return unexpected(std::string("this kernel's io_uring lacks IORING_FEAT_NODROP (Linux >= 5.5 needed)"));
  // Probing is a register operation the restrictions do not admit: now.
  if (auto op = missing_op(&r->ring_, ops))
    return unexpected("this kernel's io_uring lacks IORING_OP_" + *op + " (netd needs Linux >= 6.0)");
  // EXT_ARG (5.11) lets a wait carry its own timeout; without it liburing's
  // submit_and_wait_timeout queues a timeout SQE instead, which the
  // allow-list must then admit.
  const bool timeout_op = !(p.features & IORING_FEAT_EXT_ARG);
  auto res = restrictions_for(ops, timeout_op);
  rc = register_on(&r->ring_, IORING_REGISTER_RESTRICTIONS, res.data(), static_cast<unsigned>(res.size()));
  if (rc == 0) {
    r->restricted_ = true;
  } else {
    // EINVAL: a kernel without restrictions (< 5.10). The ring then admits
    // every operation (docs/security.md says what that costs).
    static std::atomic<bool> said{false};
    if (!said.exchange(true))
      LOG_WARN("io_uring: this kernel cannot restrict the ring's operations (%s); see docs/security.md",
               std::strerror(-rc));
  }
  if (enable_on_first_wait) return r;  // wait() enables it, on the running thread
  rc = register_on(&r->ring_, IORING_REGISTER_ENABLE_RINGS, nullptr, 0);
  if (rc < 0) return unexpected(std::string("cannot enable the io_uring ring: ") + std::strerror(-rc));
  r->enabled_ = true;
  return r;
}

UringLoop::~UringLoop() {
  if (initialized_) io_uring_queue_exit(&ring_);
}

io_uring_sqe* UringLoop::sqe(Tag t, LoopOp op) {
  require(op);
  io_uring_sqe* s = io_uring_get_sqe(&ring_);
  while (!s) {
    io_uring_submit(&ring_);
    s = io_uring_get_sqe(&ring_);
  }
  io_uring_sqe_set_data64(s, encode(t));
  return s;
}

void UringLoop::poll(Tag t, int fd, unsigned events) { io_uring_prep_poll_add(sqe(t, LoopOp::Poll), fd, events); }
void UringLoop::poll_multishot(Tag t, int fd, unsigned events) {
  io_uring_prep_poll_multishot(sqe(t, LoopOp::Poll), fd, events);
}
void UringLoop::read(Tag t, int fd, void* buf, size_t len) {
  // Offset -1: the file's own position (signalfd and inotify have none to give).
  io_uring_prep_read(sqe(t, LoopOp::Read), fd, buf, static_cast<unsigned>(len), static_cast<uint64_t>(-1));
}
void UringLoop::recv(Tag t, int fd, void* buf, size_t len, int flags) {
  io_uring_prep_recv(sqe(t, LoopOp::Recv), fd, buf, len, flags);
}
void UringLoop::recv_multishot(Tag t, int fd, BufferPool& pool) {
  io_uring_sqe* e = sqe(t, LoopOp::RecvMultishot);
  io_uring_prep_recv_multishot(e, fd, nullptr, 0, 0);
  e->flags |= IOSQE_BUFFER_SELECT;
  e->buf_group = static_cast<UringBufferPool&>(pool).group();
}
void UringLoop::send(Tag t, int fd, const void* buf, size_t len, int flags) {
  io_uring_prep_send(sqe(t, LoopOp::Send), fd, buf, len, flags);
}
void UringLoop::connect(Tag t, int fd, const sockaddr* addr, socklen_t len) {
  io_uring_prep_connect(sqe(t, LoopOp::Connect), fd, addr, len);
}
void UringLoop::accept_multishot(Tag t, int fd, int flags) {
  io_uring_prep_multishot_accept(sqe(t, LoopOp::Accept), fd, nullptr, nullptr, flags);
}
void UringLoop::splice(Tag t, int fd_in, int fd_out, unsigned len, unsigned flags) {
  io_uring_prep_splice(sqe(t, LoopOp::Splice), fd_in, -1, fd_out, -1, len, flags);
}
void UringLoop::cancel(Tag t) { io_uring_prep_cancel64(sqe(Tag{}, LoopOp::Cancel), encode(t), 0); }
void UringLoop::cancel_and_close(int fd) {
  // A hard link runs the close even when there was nothing to cancel; the
  // ring keeps the file alive until the cancelled requests finish.
  io_uring_sqe* c = sqe(Tag{}, LoopOp::CancelAndClose);
  io_uring_prep_cancel_fd(c, fd, IORING_ASYNC_CANCEL_ALL);
  c->flags |= IOSQE_IO_HARDLINK;
  io_uring_prep_close(sqe(Tag{}, LoopOp::CancelAndClose), fd);
}

int UringLoop::wait(std::optional<Duration> timeout) {
  if (!enabled_) {
    // Deferred (enable_on_first_wait): this thread becomes the issuer. The
    // ring's restrictions do not apply to enabling: they take effect with it.
    if (int rc = register_on(&ring_, IORING_REGISTER_ENABLE_RINGS, nullptr, 0); rc < 0) return rc;
    enabled_ = true;
  }
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
  require(LoopOp::RecvMultishot);
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
