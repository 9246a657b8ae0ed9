// LifecycleWatch with real fds: signals through a signalfd (stop and
// reported ones), a child's exit through its pidfd, a path's removal or
// rename through inotify on a temporary directory, and the exit fd's
// hang-up (pipe and socket), with data on it ignored.
#include "common/lifecycle_watch.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "unit/common/temp_dir.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "unit/common/loop_test_util.h"

namespace netd {
namespace {

using testing::run_for;
using testing::run_until;

using testing::TempDir;

// Restores the thread's signal mask (start() blocks the watched signals).
struct MaskGuard {
  sigset_t old;
  MaskGuard() { ::pthread_sigmask(SIG_SETMASK, nullptr, &old); }
  ~MaskGuard() {
    // Drain what the test raised, so nothing is delivered once unblocked.
    sigset_t pending;
    sigpending(&pending);
    for (int sig : {SIGUSR1, SIGUSR2}) {
      if (sigismember(&pending, sig)) {
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, sig);
        int got;
        sigwait(&one, &got);
      }
    }
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }
};

struct Watched {
  bool stopped = false;
  std::vector<int> signals;
  std::unique_ptr<LifecycleWatch> w;
  void start(loop::EventLoop& l, LifecycleOptions o) {
    auto r = LifecycleWatch::start(
        l, std::move(o), [this] { stopped = true; }, [this](int sig) { signals.push_back(sig); });
    ASSERT_TRUE(r) << r.error();
    w = std::move(*r);
  }
};

LifecycleOptions no_signals() {
  LifecycleOptions o;
  o.stop_signals.clear();
  return o;
}

TEST(LifecycleWatch, StopSignalStopsOtherSignalsAreReported) {
  NETD_LOOP_OR_SKIP(l);
  MaskGuard mask;
  Watched w;
  LifecycleOptions o;
  o.stop_signals = {SIGUSR2};  // not SIGTERM: a mistake here must not end the test run
  o.other_signals = {SIGUSR1};
  w.start(*l, o);
  ASSERT_EQ(::kill(::getpid(), SIGUSR1), 0);
  ASSERT_TRUE(run_until(*l, [&] { return !w.signals.empty(); }));
  EXPECT_EQ(w.signals, std::vector<int>{SIGUSR1});
  EXPECT_FALSE(w.stopped);
  ASSERT_EQ(::kill(::getpid(), SIGUSR1), 0);  // still watching after the first
  ASSERT_TRUE(run_until(*l, [&] { return w.signals.size() == 2; }));
  ASSERT_EQ(::kill(::getpid(), SIGUSR2), 0);
  EXPECT_TRUE(run_until(*l, [&] { return w.stopped; }));
}

TEST(LifecycleWatch, TheTargetProcessExitingStops) {
  NETD_LOOP_OR_SKIP(l);
  int go[2];
  ASSERT_EQ(::pipe2(go, O_CLOEXEC), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(go[1]);
    char c;
    (void)!::read(go[0], &c, 1);  // exits once the parent closes its end
    ::_exit(0);
  }
  ::close(go[0]);
  Watched w;
  LifecycleOptions o = no_signals();
  o.pid = child;
  w.start(*l, o);
  run_for(*l, 50);
  EXPECT_FALSE(w.stopped);  // alive: nothing yet
  ::close(go[1]);
  EXPECT_TRUE(run_until(*l, [&] { return w.stopped; }));
  ::kill(child, SIGKILL);  // (gone already when the test passes; never left behind when it fails)
  ::waitpid(child, nullptr, 0);
}

TEST(LifecycleWatch, AProcessThatIsGoneCannotBeWatched) {
  NETD_LOOP_OR_SKIP(l);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);  // reaped: the pid names no process now
  LifecycleOptions o = no_signals();
  o.pid = child;
  auto r = LifecycleWatch::start(*l, o, [] {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("cannot watch pid " + std::to_string(child)), std::string::npos) << r.error();
}

TEST(LifecycleWatch, ThePathRemovedStopsOtherNamesDoNot) {
  NETD_LOOP_OR_SKIP(l);
  TempDir d;
  std::string netns = d.make("netns");
  std::string other = d.make("other");
  Watched w;
  LifecycleOptions o = no_signals();
  o.path = netns;
  w.start(*l, o);
  ASSERT_EQ(::unlink(other.c_str()), 0);
  d.make("new");
  run_for(*l, 50);
  EXPECT_FALSE(w.stopped);  // a neighbour came and went
  ASSERT_EQ(::unlink(netns.c_str()), 0);
  EXPECT_TRUE(run_until(*l, [&] { return w.stopped; }));
}

TEST(LifecycleWatch, ThePathRenamedAwayStops) {
  NETD_LOOP_OR_SKIP(l);
  TempDir d;
  std::string netns = d.make("netns");
  Watched w;
  LifecycleOptions o = no_signals();
  o.path = netns;
  w.start(*l, o);
  ASSERT_EQ(::rename(netns.c_str(), (d.path + "/elsewhere").c_str()), 0);
  EXPECT_TRUE(run_until(*l, [&] { return w.stopped; }));
}

TEST(LifecycleWatch, AMissingPathIsAnError) {
  NETD_LOOP_OR_SKIP(l);
  LifecycleOptions o = no_signals();
  o.path = "/nonexistent-netd-dir/netns";
  auto r = LifecycleWatch::start(*l, o, [] {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("cannot stat /nonexistent-netd-dir/netns"), std::string::npos) << r.error();
}

TEST(LifecycleWatch, PathGoneReadsInotifyEvents) {
  // Fixed event bytes: one for another name, then one for the watched name.
  auto event = [](uint32_t mask, const std::string& name) {
    std::vector<std::byte> out(sizeof(inotify_event) + 16);
    inotify_event ev{};
    ev.mask = mask;
    ev.len = 16;
    std::memcpy(out.data(), &ev, sizeof ev);
    std::memcpy(out.data() + sizeof ev, name.c_str(), name.size());
    return out;
  };
  auto other = event(IN_DELETE, "other");
  auto mine = event(IN_MOVED_FROM, "netns");
  std::vector<std::byte> both = other;
  both.insert(both.end(), mine.begin(), mine.end());
  EXPECT_FALSE(LifecycleWatch::path_gone(other, "netns"));
  EXPECT_TRUE(LifecycleWatch::path_gone(both, "netns"));
  EXPECT_FALSE(LifecycleWatch::path_gone(std::span(both).first(both.size() - 1), "netns"));  // cut short
  EXPECT_TRUE(LifecycleWatch::path_gone(event(IN_DELETE_SELF, ""), "netns"));  // the directory itself
  EXPECT_FALSE(LifecycleWatch::path_gone({}, "netns"));
  EXPECT_FALSE(LifecycleWatch::path_gone(event(IN_DELETE, "netns-old"), "netns"));
}

TEST(LifecycleWatch, ExitFdDataIsIgnoredItsCloseStops) {
  NETD_LOOP_OR_SKIP(l);
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd r(p[0]), wr(p[1]);
  Watched w;
  LifecycleOptions o = no_signals();
  o.exit_fd = r.get();
  w.start(*l, o);
  ASSERT_EQ(::write(wr.get(), "data", 4), 4);
  run_for(*l, 50);
  EXPECT_FALSE(w.stopped);
  wr.reset();  // the supervisor went away
  EXPECT_TRUE(run_until(*l, [&] { return w.stopped; }));
}

TEST(LifecycleWatch, ExitSocketHangUpStops) {
  NETD_LOOP_OR_SKIP(l);
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd mine(sv[0]), theirs(sv[1]);
  Watched w;
  LifecycleOptions o = no_signals();
  o.exit_fd = mine.get();
  w.start(*l, o);
  ASSERT_EQ(::send(theirs.get(), "x", 1, 0), 1);
  run_for(*l, 50);
  EXPECT_FALSE(w.stopped);
  theirs.reset();
  EXPECT_TRUE(run_until(*l, [&] { return w.stopped; }));
}

}  // namespace
}  // namespace netd
