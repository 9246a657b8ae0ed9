// The per-user rootless netns: one user + network namespace that holds every
// bridge of this user, kept alive by a small holder process.
//
// Theory of operation: on first use netd forks a holder that setsid()s,
// unshares CLONE_NEWUSER|CLONE_NEWNET, maps our uid/gid to root inside, sets
// lo up, names itself "netd-netns" and sleeps until killed. netd records its
// pid, its start time (field 22 of /proc/PID/stat) and its namespace paths in
// runtime_dir/rootless-netns.json. Before reuse the record is verified: the
// pid must still exist, be ours, be called netd-netns and have the recorded
// start time — a reused pid never passes. A record that fails is stale: it is
// removed and a new holder made. Everything that enters the namespace does so
// through run_in_netns() with target pid = holder (common/netns.h).
//
// Creation is crash-safe: the holder waits on a pipe for a commit byte that
// netd sends only after the record is written; a netd killed before that
// closes the pipe by dying, and the holder exits, so no holder outlives its
// record.
//
// Outward connectivity comes from `netd slirp4netns` (the attach engine with
// slirp4netns' command line, as podman runs slirp4netns for its rootless
// netns), spawned once when the holder is created, with an API socket that
// carries published ports (its pid is recorded too). When it is unavailable
// networks still work between containers; ensure() says so on stderr.
// The engine runs with --disable-host-loopback unless some network allows
// host loopback (network_config.h); an engine without it is replaced by one
// with it when such a network is connected (its published ports are then
// added again by the caller's reconcile). An engine with host loopback is
// not replaced when no network needs it any more (that would cut every
// container's connections): the firewall refuses the gateway to the other
// networks either way (nft_rules.h).
// The caller holds the state lock (lock.h) around every function here.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "bridge/paths.h"
#include "common/expected.h"
#include "common/netns.h"

namespace netd::bridge {

// The outward engine's addresses (slirp4netns' default 10.0.2.0/24): the
// rootless netns is its guest 10.0.2.100, its DNS forwarder is 10.0.2.3.
inline constexpr unsigned kOutwardMtu = 65520;
inline constexpr const char* kOutwardDns = "10.0.2.3";

struct RootlessNetns {
  pid_t pid = 0;
  unsigned long long start_time = 0;
  pid_t attach_pid = 0;  // 0 when attach is not running
  unsigned long long attach_start_time = 0;
  bool attach_host_loopback = false;  // the engine maps its gateway to the host's loopback

  NsTarget target() const;
  std::string net_path() const { return "/proc/" + std::to_string(pid) + "/ns/net"; }
  std::string user_path() const { return "/proc/" + std::to_string(pid) + "/ns/user"; }
};

// The verified live rootless netns, or nullopt when there is none (a stale
// record is removed on the way).
std::optional<RootlessNetns> find_rootless_netns(const Paths& p);

// The rootless netns, created (with attach) when missing. `created` tells
// which. `host_loopback`: a network needs the engine to map its gateway to
// the host's loopback (a running engine without it is replaced).
Expected<RootlessNetns, std::string> ensure_rootless_netns(const Paths& p, bool host_loopback,
                                                           bool* created = nullptr);

// Stops attach and the holder (only if they verify as ours) and removes the record.
void remove_rootless_netns(const Paths& p);

}  // namespace netd::bridge
