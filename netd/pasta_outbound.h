// What `netd pasta` does with its outbound table (-T/-U): ports of the
// container's loopback forwarded to the host's loopback. A process in the
// container that connects to 127.0.0.1:P (or [::1]:P) reaches whatever
// listens on the host's 127.0.0.1:TO ([::1]:TO), TO being P unless the rule
// maps it (P:TO) or names a target address.
//
// Theory of operation: plan_outbound() (pure, unit-tested) expands the table
// into one listener per port and address family: the rule's loopback
// address, or 127.0.0.1 and ::1 for a rule on the namespace's `lo`; the
// target is the rule's target address, else the loopback address of the
// same family. PastaOutbound::create() runs before the sandbox: children
// that join the namespace (run_in_netns, common/netns.h) bind those sockets
// on its loopback and hand them back over SCM_RIGHTS, at most 16 a child; an
// IPv6 listener is left out when the namespace has no ::1. A
// portfwd::Forwarder (the engine of `netd forward`, with its own io_uring
// ring made now) adopts them; its connector opens the host side in netd's
// own network namespace, so TCP is spliced and UDP carried per client flow
// exactly as `netd forward` does. start() runs the forwarder on a thread of
// its own (its ring, made disabled before the sandbox, is enabled by that
// thread, its single issuer); the destructor stops and joins it.
//
// Limits: the rules are fixed at start-up (pesto changes to them are
// refused by the caller); best-effort rules (`all`, or a spec of exclusions
// only: tens of thousands of sockets) are refused, as is a table that needs
// more than kMaxOutboundListeners sockets; 'auto' is turned into none by the
// caller.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/expected.h"
#include "common/net/ip.h"
#include "common/netns.h"
#include "portfwd/forward.h"
#include "portfwd/forwarder.h"
#include "portfwd/fwd_rule.h"

namespace netd {

// The listeners queue their first poll before the forwarder's thread runs
// (portfwd::ForwarderOptions::kMaxQueuedBeforeRun).
inline constexpr size_t kMaxOutboundListeners = 256;

struct OutboundListener {
  portfwd::Proto proto = portfwd::Proto::Tcp;
  net::IpAddr listen;  // a loopback address inside the namespace
  uint16_t port = 0;
  net::IpAddr target;  // on the host
  uint16_t target_port = 0;
  bool operator==(const OutboundListener&) const = default;
};

// Removes the 'auto' (scan) rules of the outbound table: netd does not scan
// the host for -T/-U. A table left with no rules gets no capabilities, so
// pesto clients see that it takes none. Returns whether any was removed.
bool drop_outbound_auto(portfwd::FwdTable& outbound);

// The listeners of `table` for the families the stack has.
Expected<std::vector<OutboundListener>, std::string> plan_outbound(const portfwd::FwdTable& table, bool ipv4,
                                                                   bool ipv6);

class PastaOutbound {
 public:
  // Binds the listeners inside `target` and makes the forwarder (before the
  // sandbox, before other threads). A port already in use there fails.
  static Expected<std::unique_ptr<PastaOutbound>, std::string> create(const std::vector<OutboundListener>& plan,
                                                                      const NsTarget& target);
  ~PastaOutbound();
  void start();

 private:
  explicit PastaOutbound(std::unique_ptr<portfwd::Forwarder> f) : forwarder_(std::move(f)) {}
  std::unique_ptr<portfwd::Forwarder> forwarder_;
  std::thread thread_;
};

}  // namespace netd
