// The event loops (io_uring and epoll, each test once per loop) with real
// fds: the tag codec, each operation's completion reaching the handler that
// submitted it (and no other), cancellation, multishot operations, pooled
// receive buffers, and the bounded dispatch.
#include "common/event_loop.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "unit/common/loop_test_util.h"

namespace netd {
namespace {

using loop::Completion;
using loop::Tag;
using testing::run_for;
using testing::run_until;

class EventLoopTest : public testing::LoopTest {};
NETD_FOR_EACH_LOOP(EventLoopTest);

enum class TestOp : uint8_t { A = 1, B = 200 };

using testing::Recorder;

struct Pipe {
  UniqueFd r, w;
  Pipe() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0) r.reset(p[0]), w.reset(p[1]);
  }
  void put(const char* s) const { ASSERT_EQ(::write(w.get(), s, std::strlen(s)), static_cast<ssize_t>(std::strlen(s))); }
};

TEST(LoopTag, PacksHandlerOpGenerationAndSlot) {
  constexpr Tag t{0x12, 0x34, 0x5678, 0x9abcdef0};
  static_assert(loop::encode(t) == 0x123456789abcdef0ull);
  for (Tag x : {Tag{}, Tag{0xff, 0xff, 0xffff, 0xffffffff}, Tag{1, 0, 0, 0}, Tag{0, 1, 0, 0}, Tag{0, 0, 1, 0},
                Tag{0, 0, 0, 1}, t}) {
    Tag y = loop::decode(loop::encode(x));
    EXPECT_EQ(y.handler, x.handler);
    EXPECT_EQ(y.op, x.op);
    EXPECT_EQ(y.generation, x.generation);
    EXPECT_EQ(y.slot, x.slot);
  }
}

TEST_P(EventLoopTest, PollReachesOnlyTheHandlerThatSubmittedIt) {
  auto& l = loop_;
  Recorder a(*l), b(*l);
  Pipe pa, pb;
  l->poll(a.tag(TestOp::B, 77, 9), pa.r.get(), POLLIN);
  l->poll(b.tag(TestOp::A, 5, 1), pb.r.get(), POLLIN);
  pa.put("x");
  ASSERT_TRUE(run_until(*l, [&] { return !a.got.empty(); }));
  run_for(*l, 20);
  ASSERT_EQ(a.got.size(), 1u);
  EXPECT_TRUE(b.got.empty());  // its pipe stayed empty
  const Completion& c = a.got[0];
  EXPECT_TRUE(c.res & POLLIN);
  EXPECT_EQ(c.tag.op, static_cast<uint8_t>(TestOp::B));
  EXPECT_EQ(c.tag.slot, 77u);
  EXPECT_EQ(c.tag.generation, 9u);
  EXPECT_FALSE(c.more);
  EXPECT_NE(a.tag(TestOp::A).handler, b.tag(TestOp::A).handler);
}

TEST_P(EventLoopTest, ReadDeliversTheBytes) {
  auto& l = loop_;
  Recorder h(*l);
  Pipe p;
  char buf[16] = {};
  l->read(h.tag(TestOp::A), p.r.get(), buf, sizeof buf);
  p.put("hello");
  ASSERT_TRUE(run_until(*l, [&] { return !h.got.empty(); }));
  EXPECT_EQ(h.got[0].res, 5);
  EXPECT_EQ(std::string(buf, 5), "hello");
}

TEST_P(EventLoopTest, CancelEndsAPendingOperation) {
  auto& l = loop_;
  Recorder h(*l);
  Pipe p;
  l->poll(h.tag(TestOp::A, 3, 4), p.r.get(), POLLIN);
  l->wait(std::chrono::milliseconds(0));  // submitted
  l->cancel(h.tag(TestOp::A, 3, 4));
  ASSERT_TRUE(run_until(*l, [&] { return !h.got.empty(); }));
  EXPECT_EQ(h.got[0].res, -ECANCELED);
  EXPECT_EQ(h.got[0].tag.slot, 3u);
}

TEST_P(EventLoopTest, MultishotPollStaysArmed) {
  auto& l = loop_;
  Recorder h(*l);
  Pipe p;
  l->poll_multishot(h.tag(TestOp::A), p.r.get(), POLLIN);
  p.put("1");
  ASSERT_TRUE(run_until(*l, [&] { return !h.got.empty(); }));
  EXPECT_TRUE(h.got[0].more);
  char drain[8];
  ASSERT_EQ(::read(p.r.get(), drain, sizeof drain), 1);
  p.put("2");
  ASSERT_TRUE(run_until(*l, [&] { return h.got.size() >= 2; }));
  EXPECT_TRUE(h.got[1].more);
}

TEST_P(EventLoopTest, MultishotReceiveTakesBuffersFromThePool) {
  auto& l = loop_;
  Recorder h(*l);
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd a(sv[0]), b(sv[1]);
  auto pool = l->make_buffer_pool(4, 2048);
  ASSERT_TRUE(pool) << pool.error();
  l->recv_multishot(h.tag(TestOp::A), a.get(), **pool);
  for (const char* msg : {"first", "second!"}) ASSERT_GT(::send(b.get(), msg, std::strlen(msg), 0), 0);
  ASSERT_TRUE(run_until(*l, [&] { return h.got.size() >= 2; }));
  std::vector<std::string> texts;
  for (const auto& c : h.got) {
    ASSERT_TRUE(c.buffer.has_value());
    ASSERT_GT(c.res, 0);
    auto bytes = (*pool)->data(*c.buffer, static_cast<size_t>(c.res));
    texts.emplace_back(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    EXPECT_TRUE(c.more);
    (*pool)->recycle(*c.buffer);
  }
  (*pool)->commit();
  EXPECT_EQ(texts, (std::vector<std::string>{"first", "second!"}));
  EXPECT_NE(h.got[0].buffer, h.got[1].buffer);  // each datagram its own buffer
}

TEST_P(EventLoopTest, CancelAndCloseClosesTheFdAfterItsOperations) {
  auto& l = loop_;
  Recorder h(*l);
  Pipe p;
  int fd = p.r.release();
  l->poll(h.tag(TestOp::A), fd, POLLIN);
  l->cancel_and_close(fd);
  ASSERT_TRUE(run_until(*l, [&] { return !h.got.empty(); }));
  EXPECT_EQ(h.got[0].res, -ECANCELED);
  run_for(*l, 20);
  EXPECT_EQ(::fcntl(fd, F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_P(EventLoopTest, AHandlerThatLeftGetsNothingAndItsIdIsNotReused) {
  auto& l = loop_;
  Pipe p;
  uint8_t gone_id;
  {
    Recorder gone(*l);
    gone_id = gone.tag(TestOp::A).handler;
    l->poll(gone.tag(TestOp::A), p.r.get(), POLLIN);
    l->wait(std::chrono::milliseconds(0));
  }
  Recorder next(*l);
  EXPECT_NE(next.tag(TestOp::A).handler, gone_id);
  p.put("x");
  run_for(*l, 50);  // the left handler's completion is dropped, not delivered to anyone
  EXPECT_TRUE(next.got.empty());
}

TEST_P(EventLoopTest, DispatchIsBounded) {
  auto& l = loop_;
  Recorder h(*l);
  Pipe p[3];
  for (uint32_t i = 0; i < 3; ++i) {
    l->poll(h.tag(TestOp::A, i), p[i].r.get(), POLLIN);
    p[i].put("x");
  }
  // Polls on ready fds complete as they are submitted: all three are ready
  // after this wait, and a dispatch of one leaves two behind.
  ASSERT_EQ(l->wait(std::chrono::seconds(2)), 0);
  EXPECT_EQ(l->dispatch(Clock::now(), 1), 1u);
  EXPECT_EQ(h.got.size(), 1u);
  EXPECT_TRUE(l->has_ready());
  EXPECT_EQ(l->dispatch(Clock::now(), 5), 2u);
  EXPECT_EQ(h.got.size(), 3u);
  EXPECT_FALSE(l->has_ready());
}

TEST_P(EventLoopTest, ConnectAcceptSendAndReceiveOnLoopback) {
  auto& l = loop_;
  Recorder h(*l);
  UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_EQ(::listen(listener.get(), 4), 0);
  socklen_t len = sizeof sa;
  ASSERT_EQ(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&sa), &len), 0);
  UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));

  enum class Op : uint8_t { Accept, Connect, Send, Recv };
  l->accept_multishot(h.tag(Op::Accept), listener.get(), SOCK_CLOEXEC);
  l->connect(h.tag(Op::Connect), client.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  auto find = [&](Op op) -> const Completion* {
    for (const auto& c : h.got)
      if (c.tag.op == static_cast<uint8_t>(op)) return &c;
    return nullptr;
  };
  ASSERT_TRUE(run_until(*l, [&] { return find(Op::Accept) && find(Op::Connect); }));
  EXPECT_EQ(find(Op::Connect)->res, 0);
  ASSERT_GE(find(Op::Accept)->res, 0);
  EXPECT_TRUE(find(Op::Accept)->more);
  UniqueFd server(find(Op::Accept)->res);

  char in[8] = {};
  l->recv(h.tag(Op::Recv), server.get(), in, sizeof in, 0);
  l->send(h.tag(Op::Send), client.get(), "ping", 4, MSG_NOSIGNAL);
  ASSERT_TRUE(run_until(*l, [&] { return find(Op::Send) && find(Op::Recv); }));
  EXPECT_EQ(find(Op::Send)->res, 4);
  EXPECT_EQ(find(Op::Recv)->res, 4);
  EXPECT_EQ(std::string(in, 4), "ping");
}

TEST_P(EventLoopTest, SpliceMovesBytesBetweenPipes) {
  auto& l = loop_;
  Recorder h(*l);
  Pipe from, to;
  from.put("spliced");
  l->splice(h.tag(TestOp::A), from.r.get(), to.w.get(), 64, SPLICE_F_NONBLOCK);
  ASSERT_TRUE(run_until(*l, [&] { return !h.got.empty(); }));
  EXPECT_EQ(h.got[0].res, 7);
  char buf[16];
  ASSERT_EQ(::read(to.r.get(), buf, sizeof buf), 7);
  EXPECT_EQ(std::string(buf, 7), "spliced");
}

}  // namespace
}  // namespace netd
