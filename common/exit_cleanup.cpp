// The exit clean-up helper (see exit_cleanup.h for the theory of operation).
#include "common/exit_cleanup.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace netd {
namespace {

struct Owned {
  std::string path;
  dev_t dev;
  ino_t ino;
};

// The helper's whole life: wait for the word or the hang-up, remove, answer.
[[noreturn]] void helper_main(int sock, const std::vector<Owned>& files) {
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) ::signal(sig, SIG_IGN);
  ::prctl(PR_SET_NAME, "netd-cleanup", 0, 0, 0);
  sock = keep_only_helper_fd(sock);  // (it writes nothing)
  char c;
  while (::read(sock, &c, 1) < 0 && errno == EINTR) {
  }
  for (const Owned& f : files) {
    struct stat st {};
    if (::lstat(f.path.c_str(), &st) == 0 && st.st_dev == f.dev && st.st_ino == f.ino) ::unlink(f.path.c_str());
  }
  (void)!::write(sock, "k", 1);
  ::_exit(0);
}

}  // namespace

int keep_only_helper_fd(int sock) {
  if (sock != 3) {
    ::dup2(sock, 3);
    sock = 3;
  }
  ::close_range(4, ~0U, 0);
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    ::dup2(null, STDIN_FILENO);
    ::dup2(null, STDOUT_FILENO);
    ::dup2(null, STDERR_FILENO);
    ::close(null);
  }
  return sock;
}

Expected<HelperProcess, std::string> fork_helper(int sock_type, const std::function<void(int ours, int theirs)>& tune,
                                                 const std::function<void(int sock)>& helper) {
  int sv[2];
  if (::socketpair(AF_UNIX, sock_type | SOCK_CLOEXEC, 0, sv) != 0)
    return unexpected(std::string("socketpair: ") + std::strerror(errno));
  if (tune) tune(sv[0], sv[1]);
  pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    ::close(sv[0]);
    ::close(sv[1]);
    return unexpected(std::string("fork: ") + std::strerror(e));
  }
  if (pid == 0) {
    ::close(sv[0]);
    helper(sv[1]);
    ::_exit(1);  // (helpers do not return)
  }
  ::close(sv[1]);
  HelperProcess h;
  h.sock.reset(sv[0]);
  h.pid = pid;
  return h;
}

Expected<ExitCleanup, std::string> ExitCleanup::start(const std::vector<std::string>& paths) {
  std::vector<Owned> files;
  for (const auto& p : paths) {
    if (p.empty()) continue;
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) return unexpected("cannot stat " + p + ": " + std::strerror(errno));
    files.push_back({p, st.st_dev, st.st_ino});
  }
  auto h = fork_helper(SOCK_STREAM, {}, [&files](int sock) { helper_main(sock, files); });
  if (!h) return unexpected(h.error());
  ExitCleanup c;
  c.sock_ = std::move(h->sock);
  c.pid_ = h->pid;
  return c;
}

void ExitCleanup::finish() {
  if (!sock_) return;
  if (::write(sock_.get(), "c", 1) == 1) {
    // The helper answers after removing the files; a stuck file system must
    // not keep netd from exiting, hence the bound.
    pollfd p{sock_.get(), POLLIN, 0};
    if (::poll(&p, 1, 3000) > 0) {
      char c;
      (void)!::read(sock_.get(), &c, 1);
    }
  }
  sock_.reset();
  pid_ = -1;
}

}  // namespace netd
