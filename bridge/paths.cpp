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

}  // namespace netd::bridge
