// The host's network as `netd pasta` copies it: which interface is the
// template (the one with the default route), its addresses, gateway and
// routes.
//
// Theory of operation: read_host_network() dumps links, addresses and routes
// of the calling process's network namespace once (rtnetlink, through libnl;
// an unprivileged process may read them). Everything after that is pure and
// unit-tested with made-up tables: pick_template_interface() applies pasta's
// rule (the first interface with a default route of that family, else the
// first with any route, never lo, ignoring routes to link-local prefixes),
// and host_template() collects what the guest copies from it: the address
// with the longest prefix (IPv6: global scope only; the link-local one is
// kept apart as the router address netd answers as), the default gateway,
// every address of the family, and the interface's routes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/expected.h"
#include "common/net/ip.h"

namespace netd {

struct HostLink {
  int ifindex = 0;
  std::string name;
  unsigned mtu = 0;
};

struct HostAddress {
  int ifindex = 0;
  net::IpAddr addr;
  uint8_t prefix = 0;
  bool link_scope = false;  // RT_SCOPE_LINK or narrower (IPv6 fe80::/10, IPv4 169.254/16 set so)
  bool deprecated = false;
};

struct HostRoute {
  int ifindex = 0;                     // output interface (the first next hop's)
  net::IpAddr dst;                    // unspecified with dst_len 0: a default route
  uint8_t dst_len = 0;
  std::optional<net::IpAddr> gateway;
  bool is_default() const { return dst_len == 0; }
};

struct HostNetwork {
  std::vector<HostLink> links;
  std::vector<HostAddress> addresses;
  std::vector<HostRoute> routes;  // main table, unicast, universe or link scope
};

// What the guest copies from the template interface of one family.
struct HostTemplate {
  int ifindex = 0;
  std::string ifname;
  unsigned mtu = 0;
  std::optional<net::IpAddr> addr;   // the address with the longest prefix (IPv6: global)
  uint8_t prefix = 0;
  std::optional<net::IpAddr> gateway;  // of the default route through it
  std::optional<net::IpAddr> link_local;  // IPv6: the interface's own link-local address
  std::vector<HostAddress> addresses;   // every usable address of the family on it
  std::vector<HostRoute> routes;        // every route through it, of the family
};

// Dumps the current network namespace. Returns a message when netlink fails.
Expected<HostNetwork, std::string> read_host_network();

// The template interface's index for `family` (pasta's choice, above), or 0.
int pick_template_interface(const HostNetwork& net, net::IpFamily family);
// The template on `ifindex` for `family`; nullopt when ifindex is unknown.
std::optional<HostTemplate> host_template(const HostNetwork& net, net::IpFamily family, int ifindex);
// The index of the interface called `name`, or 0.
int interface_index(const HostNetwork& net, const std::string& name);

}  // namespace netd
