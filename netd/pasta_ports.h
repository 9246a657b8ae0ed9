// The host ports `netd pasta` holds for its inbound rules (-t/-u, and what
// pesto sets at run time), kept equal to the rules.
//
// Theory of operation: a rule table (portfwd/fwd_rule.h) expands to a set of
// listeners: (protocol, listening address, interface, host port) -> (guest
// port, guest address). A rule on every address listens on 0.0.0.0 and, when
// the guest has IPv6, on [::] too. 'auto' rules (scan) expand only to the
// ports something listens on inside the namespace (PastaPorts::set_bound,
// from netd/port_scanner.h). reconcile() compares the wanted set with the
// sockets it holds: listeners that are no longer wanted are unpublished,
// new ones are bound (open_host_socket: the same messages as -p, naming
// ip_unprivileged_port_start) and published into the data plane, which
// carries every connection or datagram to the guest with the client's
// address. A strong rule that cannot bind its port fails the whole change
// (nothing of it stays); a weak one ('all', exclusion-only specs, 'auto')
// skips the port. A strong port in use (EADDRINUSE) is waited for up to
// `handover_wait` (portfwd/port_holder.h: an older netd pasta of a
// restarted container may still hold it), and the error then names the
// holder; weak ports are never waited for. On the loop thread nothing
// waits: a run-time change (pesto) that finds a strong port in use learns
// which (`in_use`), binds it off the loop with bind_waiting(), and runs the
// reconcile again with that socket (`prebound`). reconcile() runs on the
// loop thread only (before Dataplane::run, or from a closure on its control
// queue).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "common/expected.h"
#include "common/unique_fd.h"
#include "portfwd/fwd_rule.h"
#include "tap/dataplane.h"

namespace netd {

// Ports something listens on inside the namespace, per protocol.
struct BoundPorts {
  std::set<uint16_t> tcp, udp;
  bool operator==(const BoundPorts&) const = default;
};

class PastaPorts {
 public:
  PastaPorts(tap::Dataplane& dp, const tap::StackConfig& cfg, int unpriv_start)
      : dp_(dp), cfg_(cfg), unpriv_start_(unpriv_start) {}

  // One listener: (protocol, listening address, interface, host port).
  struct Key {
    portfwd::Proto proto;
    std::string addr;  // listening address, text ("0.0.0.0", "::", "127.0.0.1")
    std::string ifname;
    uint16_t port;
    auto operator<=>(const Key&) const = default;
  };
  // Sockets bound ahead (bind_waiting), taken by reconcile() for their keys.
  using Prebound = std::map<Key, UniqueFd>;

  // Makes the held listeners match `inbound` (and, for scan rules, `bound`).
  // On failure nothing changed and the message names the port; if a strong
  // port was in use, `in_use` (when given) names its listener.
  Expected<void, std::string> reconcile(const portfwd::FwdTable& inbound, const BoundPorts& bound,
                                        std::chrono::milliseconds handover_wait = {}, Prebound* prebound = nullptr,
                                        std::optional<Key>* in_use = nullptr);
  // Binds `k`'s socket, waiting up to `wait` while it is in use (errno after
  // a failure: the bind's). Any thread.
  Expected<UniqueFd, std::string> bind_waiting(const Key& k, std::chrono::milliseconds wait) const;
  size_t listeners() const { return held_.size(); }

 private:
  struct Target {
    uint16_t guest_port = 0;
    std::string guest;  // "" : the guest's own address; else an IPv4 address
    bool weak = false;
    bool operator==(const Target& o) const { return guest_port == o.guest_port && guest == o.guest; }
  };
  struct Held {
    uint64_t id;
    Target target;
  };
  std::map<Key, Target> wanted(const portfwd::FwdTable& inbound, const BoundPorts& bound) const;
  Expected<tap::PublishedPort, std::string> open(const Key& k, const Target& t, std::chrono::milliseconds wait,
                                                 Prebound* prebound);

  tap::Dataplane& dp_;
  tap::StackConfig cfg_;
  int unpriv_start_;
  std::map<Key, Held> held_;
  uint64_t next_id_ = 1ull << 32;  // apart from the API's ids
};

}  // namespace netd
