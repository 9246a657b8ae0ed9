// Following the outbound interface's addresses: --outbound-addr(6) IFNAME
// (netd attach, netd slirp4netns) and pasta's --outbound-if4/6.
//
// Theory of operation: an interface name is resolved to one of its
// addresses at start-up (netd/outbound_addr.h: the first of the family, for
// IPv6 not link-local). Interfaces get new addresses while containers run (a
// new DHCP lease, a VPN reconnecting), so netd keeps that choice current:
// - OutboundTracker (no I/O) holds the interface's addresses of one family,
//   seeded at start-up and then changed by address events, and applies the
//   start-up rule to them after each event. It reports a new choice, or that
//   the interface has no usable address left (then the old one is kept:
//   binding to it fails, the guest's connections are refused, and nothing
//   leaves through another interface behind the user's back). IPv6
//   addresses still in duplicate address detection (tentative) or that
//   failed it do not count: they cannot be bound yet.
// - OutboundMonitor is a libnl socket subscribed to the kernel's IPv4 and
//   IPv6 address notifications (RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR),
//   opened before the sandbox (which allows no new netlink socket) and read,
//   non-blocking, when the data plane's loop sees it readable. Events for
//   other interfaces are ignored; the interface is known by its index, taken
//   at start-up.
// A tracker serves one of two uses. Source: the data plane then binds
// sockets of new flows (and new DNS upstream sockets) to the new address
// (tap::Dataplane::set_outbound); flows already open keep their socket.
// HostAddress: the address is the host's own one that --map-guest-addr
// leads to (tap/stack_config.h, host_own); new flows to the alias go to the
// new address, and flows already open stay where they are (a UDP or ping
// flow moves with its next datagram: tap/address_map.h). Routes need nothing of this: every flow's socket is
// connected when the flow starts, so the host's routes at that moment decide
// its way out, and a route added later is used by the next flow.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/expected.h"
#include "common/nl_ptr.h"
#include "netd/outbound_addr.h"
#include "common/net/ip.h"

namespace netd {

class OutboundTracker {
 public:
  enum class Use : uint8_t { Source, HostAddress };
  // `ifname`'s addresses of `family` now (in the host's order) and the one
  // chosen from them at start-up.
  OutboundTracker(std::string ifname, net::IpFamily family, const std::vector<InterfaceAddress>& host_addrs,
                  net::IpAddr chosen, Use use = Use::Source);
  struct Change {
    enum class Kind { None, NewAddress, NoAddress } kind = Kind::None;
    net::IpAddr addr;  // NewAddress: bind to this from now on
  };
  // An address of this interface and family appeared (`present`) or went.
  Change on_address(const net::IpAddr& addr, bool present);
  const std::string& ifname() const { return ifname_; }
  net::IpFamily family() const { return family_; }
  const net::IpAddr& chosen() const { return chosen_; }
  Use use() const { return use_; }

 private:
  std::string ifname_;
  net::IpFamily family_;
  Use use_;
  std::vector<net::IpAddr> addrs_;
  net::IpAddr chosen_;
  bool lost_ = false;  // NoAddress was reported (report it once)
};

class OutboundMonitor {
 public:
  // Opens the netlink socket for `trackers` (their interfaces must exist).
  // Before the sandbox.
  static Expected<std::unique_ptr<OutboundMonitor>, std::string> start(std::vector<OutboundTracker> trackers);
  int fd() const;
  // Reads every waiting notification; calls `on_new` with the tracker and
  // its new choice for each new choice (and logs each change). Loop thread.
  using OnNew = std::function<void(const OutboundTracker&, const net::IpAddr&)>;
  void process(const OnNew& on_new);

 private:
  struct Followed {
    OutboundTracker tracker;
    int ifindex;
  };
  OutboundMonitor() = default;
  static int on_message(nl_msg* msg, void* arg);
  void on_address(int ifindex, const net::IpAddr& addr, bool present);

  NlSock sock_;
  std::vector<Followed> followed_;
  const OnNew* on_new_ = nullptr;
};

}  // namespace netd
