#include "bridge/spawn.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "bridge/paths.h"

namespace netd::bridge {

namespace {

std::string ns_path(pid_t pid, const char* ns) { return "/proc/" + std::to_string(pid) + "/ns/" + ns; }

std::string proc_file(pid_t pid, const char* what) { return "/proc/" + std::to_string(pid) + "/" + what; }

bool owned_by_us(pid_t pid) {
  struct stat st {};
  return ::stat(proc_file(pid, "").c_str(), &st) == 0 && st.st_uid == ::getuid();
}

std::string comm_of(pid_t pid) {
  auto c = read_file(proc_file(pid, "comm"));
  if (!c) return {};
  std::string s = *c;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

}  // namespace

std::optional<unsigned long long> process_start_time(pid_t pid) {
  auto text = read_file(proc_file(pid, "stat"));
  if (!text) return std::nullopt;
  // comm (field 2) may hold spaces and parentheses: count from the last ')'.
  auto close = text->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  size_t pos = close + 1;
  // Fields 3.. follow; start time is field 22, i.e. the 20th after ')'.
  for (int field = 3; field < 22; ++field) {
    pos = text->find(' ', pos + 1);
    if (pos == std::string::npos) return std::nullopt;
  }
  try {
    return std::stoull(text->substr(pos + 1));
  } catch (...) {
    return std::nullopt;
  }
}

bool is_live_process(pid_t pid, unsigned long long start, const char* comm) {
  if (pid <= 0 || !owned_by_us(pid)) return false;
  auto st = process_start_time(pid);
  if (!st || *st != start) return false;
  // A zombie keeps its pid and start time but no longer holds namespaces.
  auto stat = read_file(proc_file(pid, "stat"));
  auto close = stat ? stat->rfind(')') : std::string::npos;
  if (close == std::string::npos || close + 2 >= stat->size()) return false;
  char state = (*stat)[close + 2];
  if (state == 'Z' || state == 'X') return false;
  return comm == nullptr || comm_of(pid) == comm;
}

void kill_process(pid_t pid) {
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, WNOHANG);  // reaps it when it is our child
}

Expected<void, std::string> join_rootless_netns(pid_t holder) {
  int user = ::open(ns_path(holder, "user").c_str(), O_RDONLY | O_CLOEXEC);
  int net = ::open(ns_path(holder, "net").c_str(), O_RDONLY | O_CLOEXEC);
  std::string err;
  if (user < 0 || net < 0) {
    err = "cannot open the namespaces of holder pid " + std::to_string(holder) + ": " + std::strerror(errno);
  } else if (::setns(user, CLONE_NEWUSER) != 0 && errno != EINVAL) {
    // EINVAL: it is already our own user namespace (nothing to join).
    err = std::string("cannot join the rootless netns' user namespace: ") + std::strerror(errno);
  } else if (::setns(net, CLONE_NEWNET) != 0) {
    err = std::string("cannot join the rootless netns: ") + std::strerror(errno);
  }
  if (user >= 0) ::close(user);
  if (net >= 0) ::close(net);
  if (!err.empty()) return unexpected(err);
  return {};
}

Expected<pid_t, std::string> spawn_netd(const SpawnOptions& o) {
  // Everything the child needs is prepared before fork (no allocation after).
  std::vector<std::string> args{"netd"};
  args.insert(args.end(), o.args.begin(), o.args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The binary's own path rather than /proc/self/exe, so `ps` shows "netd".
  char exe[4096];
  ssize_t len = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  std::string path = len > 0 ? std::string(exe, static_cast<size_t>(len)) : std::string();
  if (path.empty() || path.find(" (deleted)") != std::string::npos || ::access(path.c_str(), X_OK) != 0)
    path = "/proc/self/exe";

  pid_t pid = ::fork();
  if (pid < 0) return unexpected(std::string("fork: ") + std::strerror(errno));
  if (pid != 0) return pid;

  ::setsid();
  int in = ::open("/dev/null", O_RDONLY);
  int out = o.log_path.empty() ? ::open("/dev/null", O_WRONLY)
                               : ::open(o.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (in >= 0) ::dup2(in, 0);
  if (out >= 0) {
    ::dup2(out, 1);
    ::dup2(out, 2);
  }
  if (o.fd3 >= 0) {
    if (o.fd3 == 3) ::fcntl(3, F_SETFD, 0);
    else ::dup2(o.fd3, 3);  // the copy does not inherit FD_CLOEXEC
  }
  ::close_range(o.fd3 >= 0 ? 4 : 3, ~0u, 0);  // the state lock among them
  if (o.join_holder) {
    if (auto j = join_rootless_netns(*o.join_holder); !j) {
      std::fprintf(stderr, "netd: %s\n", j.error().c_str());
      ::_exit(127);
    }
  }
  ::execv(path.c_str(), argv.data());
  std::fprintf(stderr, "netd: cannot exec %s: %s\n", path.c_str(), std::strerror(errno));
  ::_exit(127);
}

std::optional<int> wait_child(pid_t pid, int timeout_ms) {
  for (int waited = 0;; waited += 10) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (r < 0 && errno != EINTR) return -1;  // not our child (any more)
    if (waited >= timeout_ms) return std::nullopt;
    ::usleep(10 * 1000);
  }
}

}  // namespace netd::bridge
