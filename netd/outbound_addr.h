// --outbound-addr / --outbound-addr6 (`netd slirp4netns`, `netd attach`):
// which source address the host sockets of the guest's outbound flows use.
//
// Theory of operation: the option takes an address of its family or an
// interface name, as slirp4netns' does. An interface name is resolved at
// start-up to one of the interface's addresses of that family (what
// slirp4netns does); unlike slirp4netns, netd then follows the interface's
// address changes (netd/outbound_monitor.h). The data plane bind()s every
// TCP, UDP and ping socket it opens for the guest, and the DNS forwarder's
// upstream sockets, to that address with port 0 before connecting (tap/dataplane.h). That fixes the
// source address the peers see; the outgoing interface is still the one
// the host's routes give for the destination (policy routing, `ip rule
// from ADDR`, can tie the two). netd does not use SO_BINDTODEVICE, because
// slirp4netns does not: a podman user's `outbound_addr=eth1` means the same
// with both.
//
// The split: classify_outbound() checks the text (no I/O),
// resolve_outbound() picks the address from a list of interface addresses
// (no I/O: tests give fixed lists), host_interface_addresses() and
// check_local_address() are the two thin system-call wrappers run_attach()
// uses.
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/expected.h"
#include "common/net/ip.h"

namespace netd {

// What the option's text names: an address of the wanted family, or an
// interface whose address is to be looked up.
using OutboundSpec = std::variant<net::IpAddr, std::string>;

// `text` for --outbound-addr (family V4) or --outbound-addr6 (V6). Errors:
// an address of the other family, an empty or over-long name (IFNAMSIZ), a
// name with '/' or whitespace, and the unspecified address.
Expected<OutboundSpec, std::string> classify_outbound(std::string_view text, net::IpFamily family);

struct InterfaceAddress {
  std::string ifname;
  net::IpAddr addr;
};

// The address to bind: the spec's own, or the first address of `family` on
// the named interface in `addrs` (getifaddrs order). For IPv6 a link-local
// address is never picked (binding one needs a scope, and slirp4netns'
// choice of it fails every connection); an interface with only link-local
// IPv6 addresses is an error that says so.
Expected<net::IpAddr, std::string> resolve_outbound(const OutboundSpec& spec, net::IpFamily family,
                                                     const std::vector<InterfaceAddress>& addrs);

// The host's interface addresses (IPv4 and IPv6), in getifaddrs order.
std::vector<InterfaceAddress> host_interface_addresses();

// Binds a throw-away UDP socket to `addr`: fails (with the reason) when the
// address is not one of this host's, so a wrong option stops start-up
// instead of failing every connection later.
Expected<void, std::string> check_local_address(const net::IpAddr& addr);

}  // namespace netd
