#include "netd/target_arg.h"

#include <algorithm>
#include <cctype>
#include <climits>

namespace netd::cli {

Expected<NsTarget, std::string> parse_target(const std::string& arg, const std::string& userns) {
  NsTarget t;
  t.userns_path = userns;
  if (arg.empty()) return unexpected(std::string("no target given: pass a PID or a network namespace path"));
  if (std::all_of(arg.begin(), arg.end(), [](unsigned char c) { return std::isdigit(c); })) {
    if (arg.size() > 10) return unexpected("PID out of range: " + arg);
    long long v = std::stoll(arg);
    if (v <= 0 || v > INT_MAX) return unexpected("PID out of range: " + arg);
    t.pid = static_cast<pid_t>(v);
  } else {
    t.netns_path = arg;
  }
  return t;
}

}  // namespace netd::cli
