// Forwarding rules and rule tables as pasta keeps them (the -t/-u/-T/-U
// options and the pesto protocol both speak in these terms).
//
// Theory of operation: a rule forwards a range of listening ports of one
// protocol, on one listening address (or every address), optionally bound to
// one interface, to an equally long range of target ports, optionally on a
// fixed target address. A table holds the rules of one direction: `inbound`
// (pasta's "HOST" table: host ports into the namespace, -t/-u) and
// `outbound` ("SPLICE": namespace ports out to the host, -T/-U). A table has
// capabilities (IPv4, IPv6, TCP, UDP, port scanning, interface binding) that
// say which rules it accepts, and FwdTable::add() enforces them together
// with pasta's other limits: no two rules of a protocol may claim the same
// port on matching addresses, at most 255 rules, at most 5 x 65536 listening
// sockets. remove() deletes only an exactly matching rule. Nothing here does
// I/O; the values mirror the pesto wire format (portfwd/pesto_wire.h) so a
// table survives a round trip through it unchanged.
//
// Addresses are net::IpAddr, whose 16 bytes are already the form pasta
// stores (IPv4 as ::ffff:a.b.c.d), so the IPv4-mapped text of an address
// and the address are one rule address.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/expected.h"
#include "common/net/ip.h"
#include "portfwd/port_spec.h"

namespace netd::portfwd {

// Capability bits of a forwarding table (the pesto protocol's values).
struct FwdCap {
  static constexpr uint32_t kIpv4 = 1u << 0;
  static constexpr uint32_t kIpv6 = 1u << 1;
  static constexpr uint32_t kTcp = 1u << 2;
  static constexpr uint32_t kUdp = 1u << 3;
  static constexpr uint32_t kScan = 1u << 4;    // 'auto': listen only where the target side listens
  static constexpr uint32_t kIfname = 1u << 5;  // unprivileged SO_BINDTODEVICE (Linux 5.7+)
  static constexpr uint32_t kAll = kIpv4 | kIpv6 | kTcp | kUdp | kScan | kIfname;
};

// The longest interface name a rule may carry (IFNAMSIZ - 1).
inline constexpr size_t kFwdIfnameMax = 15;

// "::", the value pasta uses for "no address".
inline net::IpAddr ipv6_unspecified() { return net::IpAddr(net::Ipv6Addr{}); }

struct FwdRule {
  Proto proto = Proto::Tcp;
  // Every IPv4 and IPv6 address at once (pasta's dual-stack wildcard); `addr`
  // is then "::". Otherwise the rule listens on `addr` only, where 0.0.0.0 is
  // every IPv4 address and :: every IPv6 address.
  bool any_address = false;
  net::IpAddr addr = ipv6_unspecified();
  std::string ifname;  // bind to this interface; "" for any (at most 15 bytes)
  uint16_t first = 0;  // listening ports first..last (inclusive)
  uint16_t last = 0;
  uint16_t to = 0;  // target port of `first`: port p goes to to + (p - first)
  // Target address; unspecified (:: or 0.0.0.0) means the other side's own
  // address, chosen by the forwarder.
  net::IpAddr target = ipv6_unspecified();
  // Best effort: ports that cannot be bound are skipped ('all', or a spec of
  // exclusions only); the rule fails only if no port could be bound.
  bool weak = false;
  // 'auto': a port is listened on only while the same target port is bound
  // on the other side (rescanned periodically by the forwarder).
  bool scan = false;

  bool has_target() const { return !target.is_unspecified(); }
  uint16_t to_last() const { return static_cast<uint16_t>(to + (last - first)); }
  // The target port for listening port `port` (first <= port <= last).
  uint16_t target_port(uint16_t port) const { return static_cast<uint16_t>(to + (port - first)); }
  // Whether a connection or datagram to `dst`:`port` of `p` belongs to this
  // rule (the interface is the socket's business, not checked here).
  bool matches(Proto p, const net::IpAddr& dst, uint16_t port) const;
  // Whether both rules claim some port of one protocol on matching addresses.
  bool conflicts_with(const FwdRule& o) const;
  // The line pesto --show prints, byte for byte, e.g.
  // "TCP [*]:8080-8081  =>  80-81 " or "UDP [127.0.0.1]%lo:53  =>  53  (best effort)".
  std::string to_string() const;

  // Equal in every field as pasta stores them.
  friend bool operator==(const FwdRule& a, const FwdRule& b);
};

// The rules of one direction.
struct FwdTable {
  static constexpr size_t kMaxRules = 255;
  static constexpr size_t kMaxSockets = 65536 * 5;

  uint32_t caps = 0;  // FwdCap bits
  std::vector<FwdRule> rules;

  // Appends `r` after checking it as pasta does: a valid port range (no port
  // 0 on either side, the target range inside 1-65535), an address family
  // and protocol the table supports, a usable target address (unicast, same
  // family as the listening address, none for the dual-stack wildcard), no
  // conflict with a rule already here, and the rule and socket limits.
  // Returns what is wrong, naming the rule.
  Expected<void, std::string> add(const FwdRule& r);
  // Deletes the rule equal to `r`. Fails (table unchanged) when an earlier
  // rule overlaps `r` without being equal to it, or when no rule equals it.
  Expected<void, std::string> remove(const FwdRule& r);
  void clear() { rules.clear(); }
  // Listening sockets the rules need (one per port).
  size_t socket_count() const;
};

// pasta's two tables.
struct FwdTables {
  FwdTable inbound;   // "HOST": -t/-u, host ports into the namespace
  FwdTable outbound;  // "SPLICE": -T/-U, namespace ports to the host
  // The table option -t/-u (inbound) or -T/-U (outbound) writes to; any other
  // letter gives the inbound table.
  FwdTable& for_option(char option) { return option == 'T' || option == 'U' ? outbound : inbound; }
};

}  // namespace netd::portfwd
