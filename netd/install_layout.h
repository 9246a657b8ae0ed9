// Where an installed netd keeps its helper names: symlinks called slirp4netns,
// pasta, pesto and aardvark-dns in libexec/netd/, beside bin/netd.
//
// Theory of operation: the build records the path from the binary directory
// to the helper directory (NETD_HELPERS_FROM_BIN, "../libexec/netd" for the
// usual bin/ and libexec/), so the helpers are found from the running binary
// wherever the tree was installed (/usr, /usr/local, a DESTDIR). The build
// tree has the same layout (build/bin/netd, build/libexec/netd/), so a netd
// run from there finds its helpers too. Podman is pointed at the directory
// (containers.conf helper_binaries_dir, netd/podman_conf.h) and finds each
// helper there by its name; netd dispatches on that name (argv[0]).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/expected.h"

namespace netd::install {

// The helper directory for the netd binary at `exe` (absolute), normalized.
std::string helpers_dir_for(std::string_view exe);

// This netd binary, symlinks resolved (/proc/self/exe).
Expected<std::string, std::string> self_exe();

// The helper names (podman::kHelperNames) missing from `dir` or not leading
// to `exe` there.
std::vector<std::string> missing_helpers(const std::string& dir, const std::string& exe);

}  // namespace netd::install
