// Entering a container's namespaces without ever leaving our own.
//
// Theory of operation: netd's main process stays in the caller's user and
// network namespaces for its whole life. Whatever must be opened *inside* a
// target network namespace (a TAP fd, a netlink socket, a listening socket)
// is opened by a short-lived forked child that joins the target's user
// namespace (when it is not ours: an unprivileged uid holds every capability
// in user namespaces it owns), then the network namespace, runs the given
// function, and hands the resulting fds back over SCM_RIGHTS before it exits.
// Sockets keep the namespace they were created in, so the parent can use them
// from outside.
//
// The child is created with fork(); the caller must not hold locks another
// thread could own (netd forks before it starts threads, or from the control
// thread with no locks held).
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/expected.h"
#include "common/unique_fd.h"

namespace netd {

struct NsTarget {
  std::optional<pid_t> pid;   // take /proc/PID/ns/{net,user}
  std::string netns_path;     // or a bind-mounted netns file (e.g. /run/netns/x)
  std::string userns_path;    // optional explicit user namespace
  // Human-readable name for messages ("pid 123", "/run/netns/x").
  std::string describe() const;
};

// What the child function returns: the fds to hand back, or a message.
using NsChildResult = Expected<std::vector<int>, std::string>;
using NsChildFn = std::function<NsChildResult()>;

// Runs `fn` in a child that joined `target`. Returns the fds `fn` produced
// (now owned by the caller) or a one-line error suitable for the user.
Expected<std::vector<UniqueFd>, std::string> run_in_netns(const NsTarget& target,
                                                          const NsChildFn& fn);

// Opens the target's network namespace fd (O_RDONLY|O_CLOEXEC), for
// watching it or for IFLA_NET_NS_FD. Returns the fd or an error message.
Expected<UniqueFd, std::string> open_netns(const NsTarget& target);

}  // namespace netd
