// Reverse-lookup names: the in-addr.arpa (RFC 1035 3.5) and ip6.arpa
// (RFC 3596 2.5) names PTR queries ask for, to and from common/net addresses.
//
// Theory of operation: an IPv4 address is its four octets, last first, then
// "in-addr.arpa"; an IPv6 address is its 32 nibbles, last first, then
// "ip6.arpa". from_reverse_name reads a query name (untrusted: it comes off
// the wire) and accepts only the exact canonical form: four decimal labels
// without leading zeros, or 32 single lower-case hex labels. Names are
// handled lower-case and without the trailing dot.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/net/ip.h"

namespace netd::dns {

// "4.3.2.1.in-addr.arpa" / "b.a.9.8....ip6.arpa" (no trailing dot).
std::string reverse_name(const net::IpAddr& a);
// The inverse of reverse_name; nullopt for any other name.
std::optional<net::IpAddr> from_reverse_name(std::string_view lower_name);

}  // namespace netd::dns
