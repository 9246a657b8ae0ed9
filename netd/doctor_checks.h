// `netd doctor`'s verdicts: what the host offers, judged against what netd
// (and rootless Podman running netd) needs, each with the fix to apply.
//
// Theory of operation: cmd_doctor.cpp gathers HostFacts (reads /proc/sys and
// /etc files, tries the operations that can be refused: opening /dev/net/tun,
// making a user + network namespace, setting up an io_uring, loading netd's
// nftables rules in that namespace, asking podman), and evaluate() turns them
// into one Check per topic without any I/O, so every verdict and its wording
// is unit-tested with made-up facts. FAIL means netd itself cannot work here
// as this user; WARN means a feature is missing or degraded (pings, low ports,
// bridge networks, Podman not set up); the exit status is 0 unless something
// FAILs. A fix is a command or a short instruction, empty when there is
// nothing to do.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "netd/podman_conf.h"

namespace netd::doctor {

enum class Status { Ok, Warn, Fail };

struct Check {
  Status status = Status::Ok;
  std::string name;     // short topic: "tun", "userns", ...
  std::string message;  // what was found
  std::string fix;      // what to do; empty with nothing to do
};

// An operation that was tried: errno 0 when it worked, with the message of
// its failure otherwise.
struct Attempt {
  int err = 0;
  std::string message;
  bool ok() const { return err == 0; }
};

struct UidmapTool {
  bool found = false;       // newuidmap/newgidmap on the usual paths
  bool privileged = false;  // setuid root or file capabilities
};

struct HostFacts {
  uid_t uid = 0;
  std::string user;               // login name ("" when unknown)
  std::vector<gid_t> groups;      // effective gid and supplementary groups
  Attempt tun;                    // open("/dev/net/tun", O_RDWR)
  std::optional<std::string> subuid, subgid;  // file contents; nullopt: missing
  UidmapTool newuidmap, newgidmap;
  // /proc/sys values, trimmed; nullopt when the file does not exist.
  std::optional<std::string> unprivileged_userns_clone;           // kernel.unprivileged_userns_clone (Debian)
  std::optional<std::string> max_user_namespaces;                 // user.max_user_namespaces
  std::optional<std::string> apparmor_restrict_unprivileged_userns;  // kernel.* (Ubuntu 23.10+)
  std::optional<std::string> io_uring_disabled;                   // kernel.io_uring_disabled (6.6+)
  std::optional<std::string> ping_group_range;                    // net.ipv4.ping_group_range
  std::optional<std::string> unprivileged_port_start;             // net.ipv4.ip_unprivileged_port_start
  Attempt userns;    // unshare(CLONE_NEWUSER|CLONE_NEWNET), id maps, lo up inside
  Attempt io_uring;  // netd's own ring set-up
  // When io_uring is refused: the event loop netd's data planes run on
  // instead (its name, e.g. "epoll"), "" when there is none.
  std::string fallback_loop;
  std::optional<Attempt> nftables;  // netd's firewall in a fresh namespace; nullopt: not tried
  // Podman: nullopt when `podman --version` did not run (not installed: the
  // error is empty) or failed (podman_version_error says how).
  std::optional<std::string> podman_version_output;
  std::string podman_version_error;
  std::optional<std::string> podman_info_json;  // `podman info --format json`; nullopt: failed
  std::string podman_info_error;                // its first error line then
  // The slirp4netns and pasta executables podman info names, symlinks resolved
  // ("" when it names none or they do not resolve).
  std::string slirp4netns_resolved, pasta_resolved;
  // netd's helper directory and whether each helper name there runs this netd.
  std::string helpers_dir;
  std::vector<std::string> helpers_missing;  // names in kHelperNames that do not
  std::string netd_exe;                      // this binary, resolved
};

std::vector<Check> evaluate(const HostFacts& f);

// "OK    name      message — fix: ..." (one line).
std::string format(const Check& c);

// Total ids granted to `user` (or to its uid written as a number) in an
// /etc/subuid-style file, and the first id after every range in it (where a
// new range can start without overlapping).
struct SubidSummary {
  unsigned long long count = 0;
  unsigned long long first = 0;     // start of the user's first range
  unsigned long long free_from = 0; // end of the highest range of anyone
};
SubidSummary summarize_subids(std::string_view file, std::string_view user, uid_t uid);

// "LO HI" (net.ipv4.ping_group_range) as two numbers; nullopt when it is not that.
std::optional<std::pair<unsigned long long, unsigned long long>> parse_range(std::string_view s);

}  // namespace netd::doctor
