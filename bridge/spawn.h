// Helper processes of the rootless netns: netd starting netd.
//
// Theory of operation: the outward engine (`netd slirp4netns`) and the
// embedded DNS server (`netd dns`) are this very binary, exec'd from
// /proc/self/exe by a forked child. The child detaches (setsid), reads
// /dev/null, writes stdout/stderr to a log file (append), keeps only the fd
// the caller hands it (as fd 3), and, when asked, joins the rootless netns
// first — its user namespace, then its network namespace: only from inside
// that user namespace may it enter the network namespace (setns into a netns
// wants CAP_SYS_ADMIN over the namespace and in the caller's own user
// namespace). Any
// failure before exec goes to the log, and the child exits 127.
//
// join_rootless_netns() is the same join for a child that runs something
// else (`netd rootless-netns CMD`).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "common/expected.h"

namespace netd::bridge {

struct SpawnOptions {
  std::vector<std::string> args;     // arguments after argv[0] ("netd")
  std::string log_path;              // stdout and stderr (appended); empty: /dev/null
  int fd3 = -1;                      // handed to the child as fd 3 (e.g. a ready pipe)
  std::optional<pid_t> join_holder;  // join this holder's user + network namespaces
};

// Forks and execs netd. Returns the child's pid (the caller reaps it).
Expected<pid_t, std::string> spawn_netd(const SpawnOptions& o);

// In a forked child: join the user, then the network namespace of `holder`.
// Returns a one-line error.
Expected<void, std::string> join_rootless_netns(pid_t holder);

// Start time of a process from /proc/PID/stat (field 22), or nullopt.
std::optional<unsigned long long> process_start_time(pid_t pid);
// True when `pid` is alive (not a zombie), ours, started at `start_time`
// and, when given, named `comm`: a recorded pid that was reused never passes.
bool is_live_process(pid_t pid, unsigned long long start_time, const char* comm = nullptr);
// SIGKILL; reaped when it is our child.
void kill_process(pid_t pid);

// Waits up to `timeout_ms` for `pid` (our child) to exit. Returns its exit
// status (128+signal when killed), or nullopt when it is still running.
std::optional<int> wait_child(pid_t pid, int timeout_ms);

}  // namespace netd::bridge
