#include "tap/icmp_engine.h"

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "tap/address_map.h"
#include "tap/wire/builder.h"

namespace netd::tap {

void IcmpEngine::on_guest_icmp(Time now, const wire::IpView& ip, const wire::IcmpView& icmp, Actions& out) {
  const wire::IcmpDialect& d = wire::icmp_dialect(ip.family());
  if (icmp.type() != d.echo_request || icmp.code() != 0) {
    ++ctx_.counters.drop_unsupported;
    return;
  }
  if (ctx_.cfg.is_own(ip.dst())) {
    reply_locally(ip, icmp, out);
    return;
  }
  auto host = host_destination(ctx_.cfg, ip.dst());
  if (!host) {
    ++ctx_.counters.drop_policy;
    return;
  }
  if (ping_denied_) {
    ++ctx_.counters.icmp_no_ping_socket;
    return;
  }
  FlowKey key{ip.src(), icmp.echo_id(), ip.dst(), 0};
  auto id = flows_.lookup(key);
  if (id && flows_.find(*id)->host != *host) {
    flows_.erase(*id, out);  // the destination moved on the host (a guest alias): a new socket
    id.reset();
  }
  if (id) {
    flows_.find(*id)->last_used = now;
  } else {
    id = flows_.insert(Flow{key, now, {}, *host});
    if (!id) {
      ++ctx_.counters.icmp_flow_limit;
      return;
    }
    out.to_host.push_back(OpenSocket{*id, SocketKind::Ping, *host, 0});
  }
  flows_.find(*id)->quote.keep(ip);
  auto msg = icmp.message();
  out.to_host.push_back(SendOnSocket{*id, std::vector<std::byte>(msg.begin(), msg.end())});
  ++ctx_.counters.icmp_echo_forwarded;
}

void IcmpEngine::reply_locally(const wire::IpView& ip, const wire::IcmpView& icmp, Actions& out) {
  const wire::IcmpDialect& d = wire::icmp_dialect(ip.family());
  wire::IpHeader h{.src = ip.dst(), .dst = ip.src(), .proto = d.proto};
  uint32_t rest = (uint32_t{icmp.echo_id()} << 16) | icmp.echo_seq();
  out.to_tap.push_back(wire::build_ip_icmp(ctx_.to_guest(), h, d.echo_reply, 0, rest, icmp.payload()));
  ++ctx_.counters.icmp_echo_local;
}

void IcmpEngine::on_host_reply(Time now, FlowId flow, std::span<const std::byte> message, Actions& out) {
  Flow* f = flows_.find(flow);
  if (!f) return;  // closed meanwhile
  // A ping socket only delivers echo replies for its own identifier, but the
  // bytes still come from the network: parse them like any other input. The
  // kernel verified the checksum (for ICMPv6 over a pseudo-header we do not
  // see), so only the size and type are checked here.
  const wire::IcmpDialect& d = wire::icmp_dialect(f->key.family());
  auto icmp = wire::IcmpView::parse_unverified(message);
  if (!icmp || icmp->type() != d.echo_reply) {
    ++ctx_.counters.drop_malformed;
    return;
  }
  f->last_used = now;
  wire::IpHeader h{.src = f->key.dst_ip, .dst = f->key.guest_ip, .proto = d.proto};
  uint32_t rest = (uint32_t{f->key.guest_port} << 16) | icmp->echo_seq();
  out.to_tap.push_back(wire::build_ip_icmp(ctx_.to_guest(), h, d.echo_reply, 0, rest, icmp->payload()));
  ++ctx_.counters.icmp_echo_replies;
}

void IcmpEngine::on_host_error(Time, FlowId flow, int err, Actions& out) {
  Flow* f = flows_.find(flow);
  if (!f) return;
  if (err == EACCES || err == EPERM) {
    if (!ping_denied_) {
      LOG_WARN("ping sockets are not permitted for this group (sysctl net.ipv4.ping_group_range); "
               "ICMP echo to hosts other than the gateway is disabled");
    }
    ping_denied_ = true;
    ++ctx_.counters.icmp_no_ping_socket;
    flows_.erase(flow, out);
    return;
  }
  ++ctx_.counters.host_socket_errors;
  LOG_DEBUG("icmp flow %llu: %s", static_cast<unsigned long long>(flow), std::strerror(err));
  // No route (e.g. a host without IPv6): tell the guest as a router would.
  // Other errors: the echo is simply lost, as on a network.
  auto code = unreachable_code(f->key.family(), err);
  if (code && err != ECONNREFUSED) send_unreachable(ctx_, f->key.dst_ip, f->key.guest_ip, *code, f->quote, out);
}

std::optional<Time> IcmpEngine::next_deadline() const { return flows_.next_deadline(); }

void IcmpEngine::on_timer(Time now, Actions& out) {
  flows_.sweep(now, [](const Flow&) { return kIdleTimeout; }, out);
}

}  // namespace netd::tap
