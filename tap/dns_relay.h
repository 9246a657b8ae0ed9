// The guest's DNS addresses (IPv4 and IPv6): queries to them (UDP port 53)
// are relayed to the upstream forwarder and the answers framed back from the
// DNS address of the query's family. Only well-formed standard queries (one
// question, opcode QUERY) are relayed; anything else is dropped as malformed,
// so the guest cannot use the relay to send arbitrary bytes to an upstream on
// the host's loopback.
//
// Theory of operation: each query gets a token; the loop hands it to the
// c-ares Forwarder (dns/upstream.h) as a ForwardDns action and calls
// on_reply() with the token when the forwarder answers. The forwarder has its
// own time bound, but the relay enforces one too: a query unanswered after
// kDeadline gets SERVFAIL, and a late answer is then dropped. Pending queries
// are bounded; beyond the bound, queries are dropped and counted (the client
// retries, as with a lossy network).
#pragma once

#include <map>
#include <optional>

#include "common/expected.h"
#include "common/time.h"
#include "tap/actions.h"
#include "tap/engine_context.h"
#include "tap/wire/ip.h"
#include "tap/wire/udp.h"

namespace netd::tap {

class DnsRelay {
 public:
  static constexpr size_t kMaxPending = 1024;
  static constexpr Duration kDeadline = milliseconds(2500);

  explicit DnsRelay(EngineContext& ctx) : ctx_(ctx) {}

  void on_guest_query(Time now, const wire::IpView& ip, const wire::UdpView& udp, Actions& out);
  // The forwarder's answer (raw DNS message, id already the guest's) or an
  // error status; errors become SERVFAIL.
  void on_reply(Time now, uint64_t token, const Expected<std::vector<std::byte>, int>& reply,
                Actions& out);
  std::optional<Time> next_deadline() const;
  void on_timer(Time now, Actions& out);
  size_t pending() const { return pending_.size(); }

 private:
  struct Pending {
    wire::IpAddr guest_ip;
    uint16_t guest_port;
    Time deadline;
    std::vector<std::byte> query;  // kept to build SERVFAIL
  };
  void answer(const Pending& p, std::span<const std::byte> message, Actions& out);
  void servfail(const Pending& p, Actions& out);

  EngineContext& ctx_;
  // Ordered by token; tokens grow and every deadline is now + kDeadline, so
  // the first entry always expires first.
  std::map<uint64_t, Pending> pending_;
  uint64_t next_token_ = 1;
};

}  // namespace netd::tap
