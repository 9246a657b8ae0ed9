#include "netd/install_layout.h"

#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "netd/podman_conf.h"

#ifndef NETD_HELPERS_FROM_BIN
#define NETD_HELPERS_FROM_BIN "../libexec/netd"
#endif

namespace netd::install {

std::string helpers_dir_for(std::string_view exe) {
  std::filesystem::path p(exe);
  std::string dir = (p.parent_path() / NETD_HELPERS_FROM_BIN).lexically_normal().string();
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

Expected<std::string, std::string> self_exe() {
  char buf[PATH_MAX];
  if (!::realpath("/proc/self/exe", buf))
    return unexpected(std::string("cannot resolve /proc/self/exe: ") + std::strerror(errno));
  return std::string(buf);
}

std::vector<std::string> missing_helpers(const std::string& dir, const std::string& exe) {
  std::vector<std::string> missing;
  for (const char* name : podman::kHelperNames) {
    std::string path = dir + "/" + name;
    char buf[PATH_MAX];
    if (!::realpath(path.c_str(), buf) || exe != buf) missing.emplace_back(name);
  }
  return missing;
}

}  // namespace netd::install
