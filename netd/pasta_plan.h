// From pasta's options and the host's network to what netd sets up: the
// copied address layout of the stack, the tap's name, addresses and routes,
// and the DNS upstreams.
//
// Theory of operation: make_pasta_plan() is pure (the host's network and its
// resolv.conf servers are arguments), so every rule below is unit-tested.
// Per family (IPv4 unless -6, IPv6 unless -4):
//  * the template interface is -i, else --outbound-if4/6, else the one with
//    the first default route of that family (host_network.h);
//  * the guest's address is -a (prefix from -a, -n, or the class of the
//    address), else the template's address with its prefix; its gateway is
//    -g, else the template's default gateway;
//  * a family with no template, address or gateway runs in pasta's "local
//    mode": IPv4 169.254.2.1/16 behind 169.254.2.2; IPv6 with only a
//    link-local address, behind fe80::1;
//  * map_host_loopback is --map-host-loopback, else the gateway unless
//    --no-map-gw; guest_alias is --map-guest-addr;
//  * the DNS address netd's forwarder answers at is --dns-forward; its
//    upstreams are --dns-host, else every name server of resolv.conf. The
//    guest is told (DHCP, DHCPv6, RDNSS) about -D's servers, or with
//    --dhcp-dns about the host's (a loopback one replaced by the DNS
//    address, else by the loopback alias, else left out), else none.
// With --config-net the tap gets the guest's address(es) and routes: with -a
// just that address, else every address of the template interface; with -g
// a default route via it, else the template interface's routes (pasta copies
// them too). IPv6 addresses skip duplicate address detection and no router
// advertisements are sent, as netd set the routes itself.
#pragma once

#include <string>
#include <vector>

#include "common/expected.h"
#include "dns/upstream.h"
#include "netd/host_network.h"
#include "netd/pasta_options.h"
#include "tap/stack_config.h"
#include "tap/tap_device.h"

namespace netd {

struct PastaPlan {
  tap::StackConfig stack;
  tap::TapOptions tap;
  std::vector<dns::UpstreamServer> dns_upstreams;
  std::string outbound4, outbound6;  // address or interface name for the outbound source
  std::vector<std::string> notes;    // what was chosen and why, for the log (info)
};

// `resolv` is /etc/resolv.conf's name servers, in order.
Expected<PastaPlan, std::string> make_pasta_plan(const PastaOptions& o, const HostNetwork& host,
                                                 const std::vector<dns::UpstreamServer>& resolv);

}  // namespace netd
