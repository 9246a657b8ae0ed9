// DHCPv4 server for the one guest of an attached namespace.
//
// Theory of operation: there is exactly one address to lease (the guest's,
// CIDR+100), so the server keeps no lease table. DISCOVER gets an OFFER,
// a REQUEST for the guest address (SELECTING with our server id, or
// INIT-REBOOT/RENEWING/REBINDING without one) gets an ACK, a REQUEST for any
// other address a NAK, a REQUEST naming another server is ignored (the client
// chose that server), INFORM gets an ACK with configuration only. Replies carry
// router, DNS, mask, broadcast, MTU (option 26) and lease times. Replies go to
// the client's MAC; the IP destination is broadcast when the client asked for
// it (flag) or has no address yet and cannot receive unicast, else yiaddr.
#pragma once

#include "tap/actions.h"
#include "tap/engine_context.h"
#include "tap/wire/dhcp.h"
#include "tap/wire/ipv4.h"

namespace netd::tap {

class DhcpServer {
 public:
  explicit DhcpServer(EngineContext& ctx) : ctx_(ctx) {}
  // Takes a DHCP message the guest sent to port 67; appends the reply frame.
  void on_message(const wire::DhcpView& msg, Actions& out);

 private:
  void reply(const wire::DhcpView& req, uint8_t type, wire::Ipv4Addr yiaddr, Actions& out);
  EngineContext& ctx_;
};

}  // namespace netd::tap
