#include "tap/dns_relay.h"

#include "dns/wire/builder.h"
#include "dns/wire/query_check.h"
#include "tap/wire/builder.h"

namespace netd::tap {

void DnsRelay::on_guest_query(Time now, const wire::IpView& ip, const wire::UdpView& udp, Actions& out) {
  auto q = udp.payload();
  // Only a standard query is relayed: the upstream may sit on the host's
  // loopback (dns/wire/query_check.h; docs/security.md, host exposure).
  if (!dns::wire::is_plain_query(q)) {
    ++ctx_.counters.drop_malformed;
    return;
  }
  if (pending_.size() >= kMaxPending) {
    ++ctx_.counters.dns_pending_limit;
    return;
  }
  uint64_t token = next_token_++;
  std::vector<std::byte> query(q.begin(), q.end());
  out.to_host.push_back(ForwardDns{token, query});
  pending_.emplace(token, Pending{ip.src(), udp.src_port(), now + kDeadline, std::move(query)});
  ++ctx_.counters.dns_queries;
}

void DnsRelay::on_reply(Time, uint64_t token, const Expected<std::vector<std::byte>, int>& reply,
                        Actions& out) {
  auto it = pending_.find(token);
  if (it == pending_.end()) return;  // already answered with SERVFAIL
  if (reply) {
    answer(it->second, *reply, out);
    ++ctx_.counters.dns_replies;
  } else {
    servfail(it->second, out);
  }
  pending_.erase(it);
}

void DnsRelay::answer(const Pending& p, std::span<const std::byte> message, Actions& out) {
  wire::IpHeader h{.src = ctx_.cfg.dns_for(p.guest_ip), .dst = p.guest_ip, .proto = wire::IpProto::Udp};
  out.to_tap.push_back(wire::build_ip_udp(ctx_.to_guest(), h, 53, p.guest_port, message));
}

void DnsRelay::servfail(const Pending& p, Actions& out) {
  auto msg = dns::wire::make_servfail(p.query);
  if (!msg) return;  // not even a parsable question: nothing sensible to say
  answer(p, *msg, out);
  ++ctx_.counters.dns_servfail;
}

std::optional<Time> DnsRelay::next_deadline() const {
  if (pending_.empty()) return std::nullopt;
  return pending_.begin()->second.deadline;
}

void DnsRelay::on_timer(Time now, Actions& out) {
  while (!pending_.empty() && pending_.begin()->second.deadline <= now) {
    servfail(pending_.begin()->second, out);
    pending_.erase(pending_.begin());
  }
}

}  // namespace netd::tap
