// The sandbox a long-running netd enters once start-up is done.
//
// Theory of operation: netd opens everything it will ever need from the file
// system before it serves traffic (the tap, the API socket, the pid and pcap
// files, resolv.conf, published ports). After that the only things it touches
// are the fds it holds and new sockets, so it can give up the rest:
//
//  1. A mount namespace of its own. Unsharing one needs CAP_SYS_ADMIN in the
//     current user namespace: a netd running as (namespaced) root has it; an
//     unprivileged netd first unshares a user namespace (mapping its uid and
//     gid to themselves), where it holds every capability. That user
//     namespace is a child of netd's own, so it grants nothing over the host
//     network namespace or any file: sockets still work as the same uid,
//     and the fds already open keep their rights. Both unshares require a
//     single-threaded process: call enter_sandbox() before starting threads
//     (the threads started afterwards inherit everything below).
//  2. An empty root: a fresh tmpfs is mounted, pivot_root moves into it, the
//     old root is detached, and the new one is remounted read-only,
//     nosuid/nodev/noexec. No /proc, no /dev, no /etc: a process that
//     takes over netd finds no file to read, write or execute. (A process
//     that must re-read a directory later, netd dns, names it in
//     keep_paths: it is bind-mounted at its own path, and nothing else.)
//  3. No capabilities: the bounding and ambient sets are emptied, then the
//     permitted/effective/inheritable sets (keeping only CAP_NET_BIND_SERVICE
//     when netd had it and needed no user namespace, so the control API can
//     still publish ports below 1024 for a netd run by root).
//  4. no_new_privs, so nothing can regain privileges through execve, and
//     then, optionally, the process's seccomp allow-list
//     (common/seccomp_filter.h).
//
// Files that must be removed at exit (API socket, pid file) cannot be reached
// from inside: common/exit_cleanup.h removes them from outside.
#pragma once

#include <string>
#include <vector>

#include "common/expected.h"
#include "common/seccomp_filter.h"

namespace netd {

struct SandboxOptions {
  bool isolate = true;   // steps 1-3 (and no_new_privs)
  bool seccomp = false;  // step 4's allow-list (implies no_new_privs)
  SeccompProcess process = kSeccompAttach;  // whose allow-list
  // Directories that stay reachable, read-write, at their own paths in the
  // otherwise empty root (netd dns: its configuration directory, which it
  // re-reads on SIGHUP and where its pid file lives). Files (resolv.conf)
  // work too. Each is opened before the root is replaced, so a path under
  // /tmp (where the new root is mounted) is fine.
  std::vector<std::string> keep_paths;
};

// What enter_sandbox() did, for the log line and the tests.
struct SandboxReport {
  bool new_user_namespace = false;  // an unprivileged netd had to make one
  bool kept_net_bind_service = false;
  bool seccomp = false;
};

// Applies `opts` to the calling process. Returns a one-line message naming
// what failed (the process is then in an unspecified, partly sandboxed state
// and should exit).
Expected<SandboxReport, std::string> enter_sandbox(const SandboxOptions& opts);

}  // namespace netd
