// The file-following helper (see file_follow.h for the theory of operation).
#include "common/file_follow.h"

#include "common/exit_cleanup.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <set>
#include <vector>

namespace netd {
namespace {

// Events that can mean the file's text changed: written and closed, renamed
// or linked into place, or a directory on the way replaced.
constexpr uint32_t kEvents = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
// A burst of changes (an editor's temporary file, a DHCP client writing
// twice) settles for this long before the file is read.
constexpr int kSettleMs = 50;

std::string dir_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// The file's text (at most FileFollow::kMaxText bytes), or nullopt if it
// cannot be read now (missing, for a moment, while being replaced).
std::optional<std::string> read_text(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return std::nullopt;
  std::string text;
  char buf[4096];
  while (text.size() < FileFollow::kMaxText) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (text.size() > FileFollow::kMaxText) text.resize(FileFollow::kMaxText);
  return text;
}

// Watches the path's directory and, for a symlink, its target's directory
// (again after each change: the link may now lead elsewhere).
void watch_dirs(int ino, const std::string& path, std::set<std::string>& watched) {
  std::vector<std::string> dirs = {dir_of(path)};
  if (char* real = ::realpath(path.c_str(), nullptr)) {
    dirs.push_back(dir_of(real));
    std::free(real);
  }
  for (const auto& d : dirs) {
    if (watched.count(d)) continue;
    if (::inotify_add_watch(ino, d.c_str(), kEvents) >= 0) watched.insert(d);
  }
}

// The helper's whole life: wait for events or the hang-up; send changes.
[[noreturn]] void helper_main(int sock, const std::string& path, std::string last) {
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) ::signal(sig, SIG_IGN);
  ::prctl(PR_SET_NAME, "netd-follow", 0, 0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  sock = keep_only_helper_fd(sock);
  int ino = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (ino < 0) ::_exit(1);
  std::set<std::string> watched;
  // Sends the text if it changed; false when netd is gone.
  auto check = [&] {
    watch_dirs(ino, path, watched);
    auto text = read_text(path);
    // (An empty file is not sent: an empty datagram would read as the end.)
    if (!text || text->empty() || *text == last) return true;
    if (::send(sock, text->data(), text->size(), MSG_NOSIGNAL) < 0 && errno != EAGAIN && errno != ENOBUFS)
      return false;
    last = std::move(*text);
    return true;
  };
  // A change between netd's read and the watch is sent now.
  if (!check()) ::_exit(0);
  alignas(inotify_event) char events[4096];
  for (;;) {
    pollfd p[2] = {{sock, POLLIN, 0}, {ino, POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      ::_exit(1);
    }
    if (p[0].revents) ::_exit(0);  // netd hung up (it sends nothing else)
    if (!(p[1].revents & POLLIN)) continue;
    ::poll(nullptr, 0, kSettleMs);
    while (::read(ino, events, sizeof events) > 0) {
    }
    if (!check()) ::_exit(0);
  }
}

}  // namespace

Expected<FileFollow, std::string> FileFollow::start(const std::string& path, std::string initial) {
  const std::string dir = dir_of(path);
  if (::access(dir.c_str(), X_OK) != 0) return unexpected("cannot follow " + path + ": " + std::strerror(errno));
  // A whole file per datagram.
  auto h = fork_helper(
      SOCK_SEQPACKET,
      [](int ours, int theirs) {
        int size = static_cast<int>(2 * kMaxText);
        ::setsockopt(theirs, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
        ::setsockopt(ours, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
      },
      [&](int sock) { helper_main(sock, path, std::move(initial)); });
  if (!h) return unexpected(h.error());
  FileFollow f;
  f.sock_ = std::move(h->sock);
  f.pid_ = h->pid;
  f.path_ = path;
  return f;
}

FileFollow::Taken FileFollow::take() {
  Taken t;
  if (!sock_) {
    t.ended = true;
    return t;
  }
  std::string buf(kMaxText + 1, '\0');
  for (;;) {
    ssize_t n = ::recv(sock_.get(), buf.data(), buf.size(), MSG_DONTWAIT);
    if (n > 0) {
      t.text = buf.substr(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return t;
    t.ended = true;  // end of file (the helper is gone) or a broken socket
    return t;
  }
}

}  // namespace netd
