// Opening the container's TAP device from outside the container.
//
// Theory of operation: a run_in_netns() child joins the target's user and
// network namespaces, opens /dev/net/tun with TUNSETIFF (IFF_TAP|IFF_NO_PI;
// the same call attaches to a tap that already exists, e.g. one RootlessKit
// created; with several queues, IFF_MULTI_QUEUE and one TUNSETIFF per
// queue, each on its own fd: an existing tap must then be multi-queue
// too), optionally configures the namespace with libnl (lo up, tap MTU,
// MAC, up, guest address, default route via the gateway) and hands the tap
// fd (or fds) back. netd's own process never enters the namespace.
//
// IPv6 with configure: netd does not assign an IPv6 address. It makes sure
// the tap will take one by SLAAC (disable_ipv6=0, accept_ra=2 so router
// advertisements count even where forwarding is on) before bringing it up;
// the guest kernel then solicits netd's RA, forms its address in the prefix
// and installs the default route via fe80::2, as on any IPv6 LAN. A kernel
// without IPv6 (no /proc/sys/net/ipv6) is left alone: IPv4 still works.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/expected.h"
#include "common/netns.h"
#include "common/unique_fd.h"

namespace netd::tap {

// An address for the tap, "192.0.2.50/24" or "2001:db8::50/64" (IPv6 ones
// skip duplicate address detection: netd knows no one else has them).
struct TapAddress {
  std::string cidr;
};
// A route through the tap: destination "0.0.0.0/0", "::/0" or a prefix; via
// `gateway` (empty: on-link). A gateway outside the tap's subnets first gets
// an on-link host route, so it is reachable.
struct TapRoute {
  std::string dst;
  std::string gateway;
};

struct TapOptions {
  std::string name = "tap0";
  // Configure the namespace (like slirp4netns -c). Without it netd must not
  // touch addresses or routes: a client such as RootlessKit does that itself.
  bool configure = false;
  unsigned mtu = 65520;
  std::vector<TapAddress> addresses;          // with configure, in this order
  std::vector<TapRoute> routes;               // with configure, after the addresses
  std::optional<std::string> mac;             // tap MAC ("aa:bb:cc:dd:ee:ff"), kernel's if unset
  // With configure, IPv6 on the tap: kSlaac lets it autoconfigure (above);
  // kStatic takes only the addresses given (no router advertisements, no
  // duplicate address detection), as pasta's --config-net does.
  enum class Ipv6 { kOff, kSlaac, kStatic } ipv6 = Ipv6::kOff;
  // Open with IFF_VNET_HDR and enable checksum/TSO offloads (TUNSETOFFLOAD):
  // every frame then carries a virtio-net header, the guest may send TCP
  // super-segments with partial checksums, and netd may send them too.
  bool offload = true;
  // Queues (IFF_MULTI_QUEUE when more than 1; tap/queue_worker.h): one fd
  // each, all opened by the same child. 1 opens the tap as before.
  unsigned queues = 1;
};

// The most queues `netd attach --queues` takes.
inline constexpr unsigned kMaxTapQueues = 8;

// Opens (and with opts.configure, configures) the tap in `target`. Returns the
// tap fd (O_NONBLOCK|O_CLOEXEC) or a one-line message for the user.
Expected<UniqueFd, std::string> open_tap(const NsTarget& target, const TapOptions& opts);
// The same for opts.queues queues: one fd per queue, queue 0 first.
Expected<std::vector<UniqueFd>, std::string> open_tap_queues(const NsTarget& target, const TapOptions& opts);

// The part that runs inside the namespace (exposed for the namespace tests):
// opens /dev/net/tun and attaches `name` (as one more queue with
// `multi_queue`). Returns the fd or a message.
Expected<UniqueFd, std::string> open_tap_here(const std::string& name, bool offload, bool multi_queue = false);
// Applies opts (lo up, MTU, MAC, up, addresses, routes) with libnl to the
// namespace the caller is in. Returns a message on failure.
Expected<void, std::string> configure_here(const TapOptions& opts);

}  // namespace netd::tap
