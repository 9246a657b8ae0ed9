// The "PID|PATH" argument shared by attach, slirp4netns and forward: all
// digits names a process (its /proc/PID/ns/net), anything else a netns file.
#pragma once

#include <string>

#include "common/expected.h"
#include "common/netns.h"

namespace netd::cli {

// Parses `arg` into a target; `userns` (may be empty) is an explicit user
// namespace path. Returns a message for an empty or out-of-range PID.
Expected<NsTarget, std::string> parse_target(const std::string& arg, const std::string& userns);

}  // namespace netd::cli
