#include "netd/run_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/unique_fd.h"

namespace netd {

namespace {

constexpr size_t kOutputCap = 4 << 20;

[[noreturn]] void exec_child(const std::vector<std::string>& argv, int out, int err, int report) {
  int null = ::open("/dev/null", O_RDONLY);
  if (null >= 0) ::dup2(null, 0);
  ::dup2(out, 1);
  ::dup2(err, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  int e = errno;
  (void)!::write(report, &e, sizeof e);
  ::_exit(127);
}

}  // namespace

Expected<CommandOutput, std::string> run_command(const std::vector<std::string>& argv, int timeout_ms,
                                                 int* exec_errno) {
  if (exec_errno) *exec_errno = 0;
  if (argv.empty()) return unexpected(std::string("no command"));
  int o[2], e[2], r[2];
  if (::pipe2(o, O_CLOEXEC) != 0) return unexpected(std::string("pipe: ") + std::strerror(errno));
  UniqueFd out_r(o[0]), out_w(o[1]);
  if (::pipe2(e, O_CLOEXEC) != 0) return unexpected(std::string("pipe: ") + std::strerror(errno));
  UniqueFd err_r(e[0]), err_w(e[1]);
  if (::pipe2(r, O_CLOEXEC) != 0) return unexpected(std::string("pipe: ") + std::strerror(errno));
  UniqueFd rep_r(r[0]), rep_w(r[1]);
  pid_t pid = ::fork();
  if (pid < 0) return unexpected(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) exec_child(argv, out_w.get(), err_w.get(), rep_w.get());
  out_w.reset();
  err_w.reset();
  rep_w.reset();

  int child_errno = 0;
  ssize_t n;
  while ((n = ::read(rep_r.get(), &child_errno, sizeof child_errno)) < 0 && errno == EINTR) {
  }
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    ::waitpid(pid, nullptr, 0);
    if (exec_errno) *exec_errno = child_errno;
    return unexpected(argv[0] + ": " + std::strerror(child_errno));
  }

  CommandOutput res;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  bool timed_out = false;
  // The child's exit ends the wait too: a process it left behind (podman's
  // pause process) may hold the pipes open for good. What is already in
  // them is still read (non-blocking), then they are let go.
  UniqueFd exited(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  bool child_gone = false;
  UniqueFd* fds[2] = {&out_r, &err_r};
  std::string* bufs[2] = {&res.out, &res.err};
  while (out_r.valid() || err_r.valid()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p[3] = {{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}, {exited.get(), POLLIN, 0}};
    int rc = ::poll(p, 3, child_gone ? 0 : static_cast<int>(left.count()));
    if (rc < 0 && errno != EINTR) break;
    if (rc == 0 && child_gone) break;  // exited, and the pipes hold nothing more now
    if (rc > 0 && (p[2].revents & POLLIN)) {
      child_gone = true;
      exited.reset();
    }
    for (int i = 0; i < 2 && rc > 0; ++i) {
      if (!fds[i]->valid() || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      ssize_t got = ::read(fds[i]->get(), buf, sizeof buf);
      if (got > 0) {
        if (bufs[i]->size() < kOutputCap) bufs[i]->append(buf, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        fds[i]->reset();
      }
    }
  }
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out)
    return unexpected(argv[0] + ": no answer within " + std::to_string(timeout_ms / 1000) + " s");
  res.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return res;
}

}  // namespace netd
