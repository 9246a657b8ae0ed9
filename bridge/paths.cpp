#include "bridge/paths.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace netd::bridge {

namespace {
std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}
}  // namespace

Paths default_paths() {
  Paths p;
  if (auto c = env("NETD_CONFIG_DIR"); !c.empty()) {
    p.config_dir = c;
  } else if (auto x = env("XDG_CONFIG_HOME"); !x.empty()) {
    p.config_dir = x + "/netd/networks";
  } else {
    std::string home = env("HOME");
    p.config_dir = (home.empty() ? std::string("/tmp") : home) + "/.config/netd/networks";
  }
  if (auto r = env("NETD_RUNTIME_DIR"); !r.empty()) {
    p.runtime_dir = r;
  } else if (auto x = env("XDG_RUNTIME_DIR"); !x.empty()) {
    p.runtime_dir = x + "/netd";
  } else {
    p.runtime_dir = "/tmp/netd-" + std::to_string(::getuid());
  }
  return p;
}

Expected<void, std::string> ensure_dir(const std::string& dir) {
  if (dir.empty()) return unexpected(std::string("empty directory path"));
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    std::string part = dir.substr(0, pos);
    if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST)
      return unexpected("cannot create directory " + part + ": " + std::strerror(errno));
  }
  return {};
}

Expected<std::string, std::string> read_file(const std::string& path, bool* missing) {
  if (missing) *missing = false;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (missing) *missing = (e == ENOENT);
    return unexpected("cannot read " + path + ": " + std::strerror(e));
  }
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return unexpected("cannot read " + path + ": " + std::strerror(e));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (16u << 20)) {
      ::close(fd);
      return unexpected(path + " is too large");
    }
  }
  ::close(fd);
  return out;
}

Expected<void, std::string> write_file_atomic(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return unexpected("cannot write " + tmp + ": " + std::strerror(errno));
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return unexpected("cannot write " + tmp + ": " + std::strerror(e));
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return unexpected("cannot write " + tmp + ": " + std::strerror(errno));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return unexpected("cannot rename " + tmp + " to " + path + ": " + std::strerror(e));
  }
  return {};
}

}  // namespace netd::bridge
