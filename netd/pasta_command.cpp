#include "netd/pasta_command.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace netd {
namespace {

bool write_file(const char* path, const std::string& text) {
  int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

// The child: namespaces, then wait for the word, then exec. Never returns.
[[noreturn]] void child_main(int ready_w, int go_r, const std::vector<std::string>& argv, uid_t uid, gid_t gid) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // netd failed before the command ran: go too
  auto die = [ready_w](const std::string& what) {
    std::string msg = what + ": " + std::strerror(errno);
    (void)!::write(ready_w, msg.data(), msg.size());
    ::_exit(1);
  };
  if (::unshare(CLONE_NEWUSER) != 0) die("cannot create a user namespace");
  if (!write_file("/proc/self/setgroups", "deny") || !write_file("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1") ||
      !write_file("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1"))
    die("cannot map the user into the new user namespace");
  if (::unshare(CLONE_NEWNET) != 0) die("cannot create a network namespace");
  // Unprivileged ping for everyone in the namespace (pasta does the same).
  write_file("/proc/sys/net/ipv4/ping_group_range", "0 2147483647");
  (void)!::write(ready_w, "r", 1);
  ::close(ready_w);
  char c = 0;
  ssize_t n;
  do {
    n = ::read(go_r, &c, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) ::_exit(1);  // netd could not connect the namespace
  ::prctl(PR_SET_PDEATHSIG, 0);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  std::vector<std::string> args = argv;
  std::string exe;
  if (args.empty()) {
    const char* sh = std::getenv("SHELL");
    exe = sh && *sh ? sh : "/bin/sh";
    std::string base = exe.substr(exe.rfind('/') + 1);
    args.push_back("-" + base);  // a login shell, as pasta starts it
  } else {
    exe = args[0];
  }
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  ::execvp(exe.c_str(), cargv.data());
  std::fprintf(stderr, "pasta: cannot run %s: %s\n", exe.c_str(), std::strerror(errno));
  ::_exit(127);
}

// Makes `pgrp` the terminal's foreground process group (SIGTTOU blocked:
// a background caller would otherwise be stopped by it).
void foreground(pid_t pgrp) {
  sigset_t ttou, old;
  sigemptyset(&ttou);
  sigaddset(&ttou, SIGTTOU);
  ::sigprocmask(SIG_BLOCK, &ttou, &old);
  ::tcsetpgrp(STDIN_FILENO, pgrp);
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
}

}  // namespace

Expected<PastaCommand, std::string> PastaCommand::spawn(const std::vector<std::string>& argv) {
  int ready[2], go[2];
  if (::pipe2(ready, O_CLOEXEC) != 0 || ::pipe2(go, O_CLOEXEC) != 0)
    return unexpected(std::string("pipe: ") + std::strerror(errno));
  const uid_t uid = ::getuid();
  const gid_t gid = ::getgid();
  const bool terminal = ::isatty(STDIN_FILENO) && ::tcgetpgrp(STDIN_FILENO) == ::getpgrp();
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return unexpected(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::close(ready[0]);
    ::close(go[1]);
    if (terminal) ::setpgid(0, 0);
    child_main(ready[1], go[0], argv, uid, gid);
  }
  ::close(ready[1]);
  ::close(go[0]);
  PastaCommand c;
  c.pid_ = pid;
  c.go_.reset(go[1]);
  char buf[512];
  ssize_t n;
  do {
    n = ::read(ready[0], buf, sizeof buf);
  } while (n < 0 && errno == EINTR);
  ::close(ready[0]);
  if (n != 1 || buf[0] != 'r') {
    std::string why = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("the child died");
    c.finish();
    return unexpected("cannot start the command's namespaces: " + why);
  }
  if (terminal) {
    ::setpgid(pid, pid);  // (also done by the child: whichever runs first)
    foreground(pid);
    c.terminal_ = true;
  }
  return c;
}

void PastaCommand::go() {
  if (go_) (void)!::write(go_.get(), "g", 1);
  go_.reset();
}

int PastaCommand::finish() {
  go_.reset();  // a child still waiting exits 1
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  if (terminal_) foreground(::getpgrp());
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace netd
