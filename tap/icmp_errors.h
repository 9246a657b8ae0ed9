// ICMP errors netd sends the guest on behalf of the host network, for both
// families: a host socket's error becomes the destination-unreachable
// message a router or the destination would have sent, quoting the start of
// the guest packet that caused it.
//
// Theory of operation: the engines keep an ErrorQuote of a flow's guest
// packet (for TCP its SYN, for UDP and ping the last datagram) because the
// error arrives later, from a socket, when the packet itself is gone. The
// errno -> code mapping is one table for UDP, TCP and ICMP echo: "refused"
// is a port unreachable, "no route"/"address family not supported"/"cannot
// assign address" over IPv6 (a host without IPv6) a network unreachable, "host
// unreachable" its own code. Anything else has no ICMP equivalent and the
// caller handles it (RST for TCP, a counter for datagrams).
#pragma once

#include <algorithm>
#include <array>
#include <cerrno>
#include <optional>
#include <span>

#include "tap/actions.h"
#include "tap/engine_context.h"
#include "tap/wire/builder.h"
#include "tap/wire/icmp.h"
#include "tap/wire/ip.h"

namespace netd::tap {

// The quoted start of a guest packet (icmp_error_quote), bounded: an IPv6
// packet with a long extension-header chain is cut at kMax bytes.
struct ErrorQuote {
  static constexpr size_t kMax = 128;
  std::array<std::byte, kMax> b{};
  size_t len = 0;

  void keep(const wire::IpView& ip) {
    auto q = wire::icmp_error_quote(ip);
    len = std::min(q.size(), b.size());
    std::copy_n(q.begin(), len, b.begin());
  }
  std::span<const std::byte> bytes() const { return std::span(b.data(), len); }
};

// The destination-unreachable code for host socket error `err` (positive
// errno) in family `f`, or nullopt when no ICMP error describes it.
inline std::optional<uint8_t> unreachable_code(wire::IpFamily f, int err) {
  const wire::IcmpDialect& d = wire::icmp_dialect(f);
  switch (err) {
    case ECONNREFUSED: return d.port_unreachable;
    case EHOSTUNREACH: return d.host_unreachable;
    case ENETUNREACH:
    case EAFNOSUPPORT: return d.net_unreachable;
    // IPv6 with no usable source address (disable_ipv6) is a missing route
    // to the guest; over IPv4 it means local ports ran out, which is not.
    case EADDRNOTAVAIL: return f == wire::IpFamily::V6 ? std::optional<uint8_t>(d.net_unreachable) : std::nullopt;
    default: return std::nullopt;
  }
}

// Appends the destination-unreachable frame with `code` from `from` (the
// address the guest wrote to) to `guest`, quoting `quote`. Nothing if the
// quote is empty (nothing to say which packet failed).
inline void send_unreachable(const EngineContext& ctx, const wire::IpAddr& from, const wire::IpAddr& guest,
                             uint8_t code, const ErrorQuote& quote, Actions& out) {
  if (quote.len == 0) return;
  const wire::IcmpDialect& d = wire::icmp_dialect(from.family());
  wire::IpHeader h{.src = from, .dst = guest, .proto = d.proto};
  out.to_tap.push_back(wire::build_ip_icmp(ctx.to_guest(), h, d.dest_unreachable, code, 0, quote.bytes()));
}

}  // namespace netd::tap
