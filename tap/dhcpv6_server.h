// Stateless DHCPv6 (RFC 8415 6.1) for the guest: configuration only, no
// addresses (those come from SLAAC, see ndp_responder.h).
//
// Theory of operation: an Information-request gets a Reply with the same
// transaction id, netd's Server Identifier (a DUID-LL from its MAC), the
// client's Client Identifier echoed when it sent one, the DNS address
// (option 23), the search list when one is configured (option 24) and an
// information refresh time. Solicit and the other stateful messages are
// ignored and counted: netd leases no IPv6 addresses, and a client that
// gets no Advertise falls back to what the RA told it. The Reply goes from
// the router's link-local address to the client's address and port 546.
#pragma once

#include "tap/actions.h"
#include "tap/engine_context.h"
#include "tap/wire/dhcpv6.h"
#include "tap/wire/ip.h"

namespace netd::tap {

class Dhcpv6Server {
 public:
  static constexpr uint32_t kInfoRefreshSeconds = 86400;

  explicit Dhcpv6Server(EngineContext& ctx) : ctx_(ctx) {}
  // A DHCPv6 message the guest sent from `ip`'s source, UDP port `src_port`.
  void on_message(const wire::IpView& ip, uint16_t src_port, const wire::Dhcpv6View& msg, Actions& out);

 private:
  EngineContext& ctx_;
};

}  // namespace netd::tap
