// netd's seccomp allow-list (`--enable-seccomp`), built with libseccomp.
//
// Theory of operation: once set-up is done (common/sandbox.h), netd's
// threads only move bytes between fds they hold and new sockets, so the
// filter allows exactly the system calls that work needs, each listed in
// seccomp_filter.cpp with the reason it is there; docs/security.md carries
// the same table (a unit test keeps them equal). Some are narrowed by their
// arguments (sockets: IPv4/IPv6 only; clone: threads only; kill/tgkill: this
// process only; a few ioctls).
//
// Anything else traps (SIGSYS). The handler writes one line naming the
// system call ("seccomp: blocked system call openat (257)") to stderr and
// the process then dies of SIGSYS, so a missing entry is found from the log
// at once instead of by a silent kill. A few calls that libraries make only
// to probe for optional things fail with an errno instead of trapping (see
// the table).
//
// io_uring requests do not pass through seccomp: each ring admits only the
// operations its owner declared (common/uring.h), and io_uring_setup is on
// no list, so no new ring can be made once the filter is in place.
#pragma once

#include <span>
#include <string>

#include "common/expected.h"

namespace netd {

// The long-running processes, each with its own allow-list: the rules of
// the table that name it.
enum SeccompProcess : unsigned {
  kSeccompAttach = 1,   // the attach engine: netd attach, slirp4netns, pasta, the rootless netns' engine
  kSeccompForward = 2,  // netd forward
  kSeccompDns = 4,      // netd dns / aardvark-dns
  kSeccompAll = kSeccompAttach | kSeccompForward | kSeccompDns,
};

struct SeccompRule {
  const char* name;    // system call name as libseccomp knows it
  unsigned processes;  // SeccompProcess bits: whose list it is on
  const char* reason;  // why netd needs it (also in docs/security.md)
};

// The table the filters are built from, in the order of docs/security.md.
std::span<const SeccompRule> seccomp_rules();
// "attach, forward, dns" (or "all"): the processes column of the docs' table.
std::string seccomp_processes_text(unsigned processes);

// Installs `process`'s filter on the calling thread (threads created
// afterwards inherit it) and the SIGSYS handler that names a blocked call.
// Requires no_new_privs (or CAP_SYS_ADMIN). Returns a message on failure.
Expected<void, std::string> install_seccomp_filter(SeccompProcess process);

}  // namespace netd
