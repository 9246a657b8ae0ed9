// LifecycleWatch: what ends a data plane, watched on its event loop.
//
// Theory of operation: four things tell a netd data plane to stop, and each
// becomes an fd with one operation armed on the loop, so the loop thread
// learns of them between two batches of packets, never in a signal handler:
// - signals: blocked for the calling thread (do this before any other thread
//   starts, so no thread takes them) and read from a signalfd. Stop signals
//   (SIGTERM, SIGINT) stop; other watched signals go to a callback (SIGUSR1
//   logs counters) or are swallowed (SIGHUP, which a closing terminal sends);
// - the target process's exit: a pidfd turns readable;
// - the removal of a netns path (`ip netns delete`, podman: unmount,
//   unlink): an inotify watch on its directory reports the name deleted or
//   moved away, or the directory itself gone. The watch is set up before the
//   sandbox and keeps working once netd's root is empty, which a periodic
//   stat() of the path would not;
// - the exit fd's hang-up (slirp4netns' protocol: the supervisor closes its
//   end): a poll, then a read to tell data (ignored) from end-of-file.
// Each logs one line saying why, then calls on_stop. SIGPIPE is ignored for
// the whole process: a peer that went away is an error value, not a death.
#pragma once

#include <signal.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/event_loop.h"
#include "common/expected.h"
#include "common/unique_fd.h"

namespace netd {

struct LifecycleOptions {
  std::vector<int> stop_signals = {SIGTERM, SIGINT};
  std::vector<int> other_signals;  // blocked too; reported through on_signal
  std::optional<pid_t> pid;        // stop when this process exits
  std::string path;                // stop when this path is removed or renamed
  int exit_fd = -1;                // stop when this fd hangs up (not owned)
};

class LifecycleWatch final : public loop::Handler {
 public:
  // Blocks the signals, opens the signalfd, pidfd and inotify watch (before
  // the sandbox: they need /proc and the path) and arms them on `loop`.
  // Returns a message naming what could not be watched.
  static Expected<std::unique_ptr<LifecycleWatch>, std::string> start(loop::EventLoop& loop, LifecycleOptions opts,
                                                                      std::function<void()> on_stop,
                                                                      std::function<void(int)> on_signal = {});
  ~LifecycleWatch() override = default;
  void on_completion(Time now, const loop::Completion& c) override;

  // True when `events` (the bytes of inotify events a read returned) say
  // that `name`, watched through its directory, is gone.
  static bool path_gone(std::span<const std::byte> events, std::string_view name);

 private:
  enum class Op : uint8_t { Signal, PidExit, PathEvent, ExitFdReady };
  LifecycleWatch(loop::EventLoop& loop, LifecycleOptions opts, std::function<void()> on_stop,
                 std::function<void(int)> on_signal);
  Expected<void, std::string> open_all();
  Expected<void, std::string> watch_path();
  void arm_signal();
  void arm_path();
  void arm_exit_fd();
  void on_signal(int res);
  void on_path_event(int res);
  void on_exit_fd(int res);
  void stop(const std::string& why);

  LifecycleOptions opts_;
  std::function<void()> on_stop_;
  std::function<void(int)> on_signal_;
  bool stopped_ = false;
  UniqueFd signal_fd_;
  signalfd_siginfo siginfo_{};
  UniqueFd pid_fd_;
  UniqueFd path_watch_;
  std::string watched_name_;
  alignas(inotify_event) std::byte path_events_[4096];
};

}  // namespace netd
