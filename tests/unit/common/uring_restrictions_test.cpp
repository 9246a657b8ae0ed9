// The io_uring ring's allow-list (common/uring.h): a ring admits exactly the
// operations its owner declared. Requests the loop never makes (a UNIX
// socket, opening a file, probing, an SQE flag nobody sets) complete with
// -EACCES; every loop operation works on a ring that was given that
// operation alone (so uring.cpp's table of what each operation submits is
// complete); and an operation the owner did not declare stops the process
// with a message instead of failing quietly on the ring.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "common/unique_fd.h"
#include "common/uring.h"
#include "unit/common/loop_test_util.h"

namespace netd {
namespace {

using loop::Completion;
using loop::LoopOp;
using loop::UringLoop;
using testing::run_until;

using testing::Recorder;

enum class TestOp : uint8_t { Only = 1 };

// A restricted ring for `ops`, or a skip when this host has none.
std::unique_ptr<UringLoop> restricted_ring(loop::LoopOps ops) {
  auto r = UringLoop::create(16, ops);
  if (!r) return nullptr;
  return std::move(*r);
}
#define NEED_RESTRICTED_RING(l)                                                       \
  if (!(l)) GTEST_SKIP() << "io_uring is refused on this host";                       \
  if (!(l)->restricted()) GTEST_SKIP() << "this kernel has no io_uring restrictions"

// Submits `prep`'s SQE straight to the ring and returns its result.
template <class Prep>
int submit_raw(UringLoop& l, Prep prep) {
  io_uring* ring = l.ring_for_tests();
  io_uring_sqe* s = io_uring_get_sqe(ring);
  if (!s) return -ENOSPC;
  prep(s);
  io_uring_sqe_set_data64(s, 0);
  io_uring_submit(ring);
  io_uring_cqe* cqe = nullptr;
  if (io_uring_wait_cqe(ring, &cqe) != 0) return -EIO;
  int res = cqe->res;
  io_uring_cqe_seen(ring, cqe);
  return res;
}

TEST(UringRestrictions, OpcodesTheLoopNeverSubmitsAreRefused) {
  auto l = restricted_ring(loop::kAllLoopOps);
  NEED_RESTRICTED_RING(l);
  // A UNIX socket (seccomp's socket rule cannot see this one) and a file.
  EXPECT_EQ(submit_raw(*l, [](io_uring_sqe* s) { io_uring_prep_socket(s, AF_UNIX, SOCK_STREAM, 0, 0); }), -EACCES);
  EXPECT_EQ(submit_raw(*l, [](io_uring_sqe* s) { io_uring_prep_socket(s, AF_NETLINK, SOCK_RAW, 0, 0); }), -EACCES);
  EXPECT_EQ(submit_raw(*l, [](io_uring_sqe* s) { io_uring_prep_openat(s, AT_FDCWD, "/etc/hostname", O_RDONLY, 0); }),
            -EACCES);
  EXPECT_EQ(submit_raw(*l, [](io_uring_sqe* s) { io_uring_prep_nop(s); }), -EACCES);
  // An allowed opcode with a flag no operation sets.
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
  UniqueFd r(p[0]), w(p[1]);
  ASSERT_EQ(::write(w.get(), "x", 1), 1);
  char c = 0;
  EXPECT_EQ(submit_raw(*l,
                       [&](io_uring_sqe* s) {
                         io_uring_prep_read(s, r.get(), &c, 1, static_cast<uint64_t>(-1));
                         s->flags |= IOSQE_ASYNC;
                       }),
            -EACCES);
  // The same read without it is admitted (the refusals above are the
  // allow-list's, not a broken ring's).
  EXPECT_EQ(submit_raw(*l, [&](io_uring_sqe* s) { io_uring_prep_read(s, r.get(), &c, 1, static_cast<uint64_t>(-1)); }),
            1);
  // Register operations beyond the buffer rings: refused.
  io_uring_probe* probe = io_uring_get_probe_ring(l->ring_for_tests());
  EXPECT_EQ(probe, nullptr);
  if (probe) io_uring_free_probe(probe);
  int fds[1] = {r.get()};
  EXPECT_EQ(io_uring_register_files(l->ring_for_tests(), fds, 1), -EACCES);
}

TEST(UringRestrictions, ARingAdmitsOnlyItsOwnersOperations) {
  // The forwarder's ring (no send, connect, accept or multishot receive).
  auto l = restricted_ring(LoopOp::Poll | LoopOp::Read | LoopOp::Splice | LoopOp::Cancel);
  NEED_RESTRICTED_RING(l);
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
  UniqueFd a(sv[0]), b(sv[1]);
  EXPECT_EQ(submit_raw(*l, [&](io_uring_sqe* s) { io_uring_prep_send(s, a.get(), "x", 1, 0); }), -EACCES);
  char c;
  EXPECT_EQ(submit_raw(*l, [&](io_uring_sqe* s) { io_uring_prep_recv(s, b.get(), &c, 1, 0); }), -EACCES);
  EXPECT_EQ(submit_raw(*l, [&](io_uring_sqe* s) { io_uring_prep_close(s, b.release()); }), -EACCES);
  io_uring_buf_reg reg{};
  EXPECT_EQ(io_uring_register_buf_ring(l->ring_for_tests(), &reg, 0), -EACCES);
}

TEST(UringRestrictionsDeathTest, AnUndeclaredOperationStopsTheProcessNamingIt) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        auto l = UringLoop::create(8, static_cast<loop::LoopOps>(LoopOp::Poll));
        if (!l) std::abort();
        Recorder rec(**l);
        char c;
        (*l)->recv(rec.tag(TestOp::Only), 0, &c, 1, 0);
      },
      "recv was not declared in LoopOptions::ops");
}

// Each operation on a ring that admits that operation (and, where the
// operation needs a second one to be observed, that one) and nothing else.
struct OneOp : ::testing::Test {
  template <class Fn>
  void with_ring(loop::LoopOps ops, Fn fn) {
    auto l = restricted_ring(ops);
    if (!l) GTEST_SKIP() << "io_uring is refused on this host";
    if (!l->restricted()) GTEST_SKIP() << "this kernel has no io_uring restrictions";
    Recorder rec(*l);
    fn(*l, rec);
  }
  static bool one(loop::EventLoop& l, Recorder& rec) {
    return run_until(l, [&] { return !rec.got.empty(); });
  }
};

struct Pipe {
  UniqueFd r, w;
  Pipe() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0) r.reset(p[0]), w.reset(p[1]);
  }
};

TEST_F(OneOp, Poll) {
  with_ring(static_cast<loop::LoopOps>(LoopOp::Poll), [](UringLoop& l, Recorder& rec) {
    Pipe p;
    ASSERT_EQ(::write(p.w.get(), "x", 1), 1);
    l.poll(rec.tag(TestOp::Only), p.r.get(), POLLIN);
    ASSERT_TRUE(one(l, rec));
    EXPECT_TRUE(rec.got[0].res & POLLIN) << rec.got[0].res;
    rec.got.clear();
    l.poll_multishot(rec.tag(TestOp::Only), p.r.get(), POLLIN);
    ASSERT_TRUE(one(l, rec));
    EXPECT_TRUE(rec.got[0].res & POLLIN) << rec.got[0].res;
  });
}

TEST_F(OneOp, Read) {
  with_ring(static_cast<loop::LoopOps>(LoopOp::Read), [](UringLoop& l, Recorder& rec) {
    Pipe p;
    ASSERT_EQ(::write(p.w.get(), "abc", 3), 3);
    char buf[8];
    l.read(rec.tag(TestOp::Only), p.r.get(), buf, sizeof buf);
    ASSERT_TRUE(one(l, rec));
    EXPECT_EQ(rec.got[0].res, 3);
  });
}

TEST_F(OneOp, RecvAndSend) {
  for (LoopOp op : {LoopOp::Recv, LoopOp::Send}) {
    with_ring(static_cast<loop::LoopOps>(op), [op](UringLoop& l, Recorder& rec) {
      int sv[2];
      ASSERT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
      UniqueFd a(sv[0]), b(sv[1]);
      char buf[8];
      if (op == LoopOp::Recv) {
        ASSERT_EQ(::send(a.get(), "abcd", 4, 0), 4);
        l.recv(rec.tag(TestOp::Only), b.get(), buf, sizeof buf, 0);
      } else {
        l.send(rec.tag(TestOp::Only), a.get(), "abcd", 4, 0);
      }
      ASSERT_TRUE(one(l, rec));
      EXPECT_EQ(rec.got[0].res, 4) << loop::loop_op_name(op);
    });
  }
}

TEST_F(OneOp, RecvMultishotWithAPool) {
  with_ring(static_cast<loop::LoopOps>(LoopOp::RecvMultishot), [](UringLoop& l, Recorder& rec) {
    auto pool = l.make_buffer_pool(4, 64);
    ASSERT_TRUE(pool) << pool.error();
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
    UniqueFd a(sv[0]), b(sv[1]);
    ASSERT_EQ(::send(a.get(), "hello", 5, 0), 5);
    l.recv_multishot(rec.tag(TestOp::Only), b.get(), **pool);
    ASSERT_TRUE(one(l, rec));
    EXPECT_EQ(rec.got[0].res, 5);
    ASSERT_TRUE(rec.got[0].buffer.has_value());
  });
}

TEST_F(OneOp, ConnectAndAccept) {
  for (LoopOp op : {LoopOp::Connect, LoopOp::Accept}) {
    with_ring(static_cast<loop::LoopOps>(op), [op](UringLoop& l, Recorder& rec) {
      UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      socklen_t len = sizeof sa;
      ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
      ASSERT_EQ(::listen(listener.get(), 4), 0);
      ASSERT_EQ(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&sa), &len), 0);
      UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
      if (op == LoopOp::Connect) {
        l.connect(rec.tag(TestOp::Only), client.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
        ASSERT_TRUE(one(l, rec));
        EXPECT_EQ(rec.got[0].res, 0);
      } else {
        l.accept_multishot(rec.tag(TestOp::Only), listener.get(), SOCK_CLOEXEC);
        int rc = ::connect(client.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
        ASSERT_TRUE(rc == 0 || errno == EINPROGRESS);
        ASSERT_TRUE(one(l, rec));
        EXPECT_GE(rec.got[0].res, 0);
        if (rec.got[0].res >= 0) ::close(rec.got[0].res);
      }
    });
  }
}

TEST_F(OneOp, Splice) {
  with_ring(static_cast<loop::LoopOps>(LoopOp::Splice), [](UringLoop& l, Recorder& rec) {
    Pipe in, out;
    ASSERT_EQ(::write(in.w.get(), "abc", 3), 3);
    l.splice(rec.tag(TestOp::Only), in.r.get(), out.w.get(), 3, SPLICE_F_NONBLOCK);
    ASSERT_TRUE(one(l, rec));
    EXPECT_EQ(rec.got[0].res, 3);
  });
}

TEST_F(OneOp, CancelEndsAPoll) {
  // The poll is there to be cancelled.
  with_ring(LoopOp::Cancel | LoopOp::Poll, [](UringLoop& l, Recorder& rec) {
    Pipe p;
    l.poll(rec.tag(TestOp::Only), p.r.get(), POLLIN);
    l.wait(std::chrono::milliseconds(0));
    l.cancel(rec.tag(TestOp::Only));
    ASSERT_TRUE(one(l, rec));
    EXPECT_EQ(rec.got[0].res, -ECANCELED);
  });
}

TEST_F(OneOp, CancelAndCloseClosesTheFd) {
  with_ring(static_cast<loop::LoopOps>(LoopOp::CancelAndClose), [](UringLoop& l, Recorder&) {
    Pipe p;
    int fd = p.r.release();
    l.cancel_and_close(fd);
    bool closed = false;
    for (int i = 0; i < 200 && !closed; ++i) {
      l.wait(std::chrono::milliseconds(10));
      closed = ::fcntl(fd, F_GETFD) < 0 && errno == EBADF;
    }
    EXPECT_TRUE(closed) << "the ring did not close the fd";
  });
}

}  // namespace
}  // namespace netd
