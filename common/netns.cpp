#include "common/netns.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/fd_passing.h"

namespace netd {

std::string NsTarget::describe() const {
  if (pid) return "pid " + std::to_string(*pid);
  return netns_path;
}

namespace {

std::string errno_text(int err) { return std::strerror(err); }

Expected<UniqueFd, std::string> open_ns_file(const std::string& path, const char* what) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    return unexpected("cannot open " + std::string(what) + " " + path + ": " + errno_text(e));
  }
  return UniqueFd(fd);
}

bool same_file(int a, int b) {
  struct stat sa {}, sb {};
  if (::fstat(a, &sa) != 0 || ::fstat(b, &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

// The user namespace to join before the netns, or an invalid fd when the
// target's user namespace is our own (nothing to join).
Expected<UniqueFd, std::string> target_userns(const NsTarget& t, int netns_fd) {
  UniqueFd user;
  if (!t.userns_path.empty()) {
    auto r = open_ns_file(t.userns_path, "user namespace");
    if (!r) return unexpected(r.error());
    user = std::move(*r);
  } else if (t.pid) {
    auto r = open_ns_file("/proc/" + std::to_string(*t.pid) + "/ns/user", "user namespace of");
    if (!r) return unexpected(r.error());
    user = std::move(*r);
  } else {
    // The owner of the network namespace (Linux >= 4.9).
    int fd = ::ioctl(netns_fd, NS_GET_USERNS);
    if (fd < 0) {
      int e = errno;
      return unexpected("cannot find the user namespace owning " + t.netns_path + ": " +
                        errno_text(e) + " (pass --userns)");
    }
    user.reset(fd);
  }
  auto self = open_ns_file("/proc/self/ns/user", "user namespace");
  if (!self) return unexpected(self.error());
  if (same_file(user.get(), self->get())) return UniqueFd();
  return user;
}

}  // namespace

Expected<UniqueFd, std::string> open_netns(const NsTarget& t) {
  if (t.pid) return open_ns_file("/proc/" + std::to_string(*t.pid) + "/ns/net", "network namespace of");
  if (t.netns_path.empty()) return unexpected(std::string("no target namespace given"));
  return open_ns_file(t.netns_path, "network namespace");
}

Expected<std::vector<UniqueFd>, std::string> run_in_netns(const NsTarget& t, const NsChildFn& fn) {
  auto net = open_netns(t);
  if (!net) return unexpected(net.error());
  auto user = target_userns(t, net->get());
  if (!user) return unexpected(user.error());

  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return unexpected("socketpair: " + errno_text(errno));
  UniqueFd parent_end(sv[0]), child_end(sv[1]);

  pid_t child = ::fork();
  if (child < 0) return unexpected("fork: " + errno_text(errno));
  if (child == 0) {
    parent_end.reset();
    std::string err;
    if (user->valid() && ::setns(user->get(), CLONE_NEWUSER) != 0) {
      err = "cannot join the user namespace of " + t.describe() + ": " + errno_text(errno);
    } else if (::setns(net->get(), CLONE_NEWNET) != 0) {
      int e = errno;
      err = "cannot join the network namespace of " + t.describe() + ": " + errno_text(e);
      if (e == EPERM)
        err += " (an unprivileged netd can only enter namespaces whose user namespace you own)";
    }
    if (err.empty()) {
      NsChildResult r = fn();
      if (r) {
        int rc = send_fds(child_end.get(), *r, "");
        ::_exit(rc == 0 ? 0 : 1);
      }
      err = r.error();
    }
    (void)send_fds(child_end.get(), {}, "E" + err);
    ::_exit(1);
  }
  child_end.reset();
  auto got = recv_fds(parent_end.get(), 16);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!got) {
    return unexpected("namespace helper for " + t.describe() + " died without an answer (status " +
                      std::to_string(status) + ")");
  }
  if (!got->text.empty() && got->text[0] == 'E') return unexpected(got->text.substr(1));
  return std::move(got->fds);
}

}  // namespace netd
