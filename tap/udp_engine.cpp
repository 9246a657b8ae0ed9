#include "tap/udp_engine.h"

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "tap/address_map.h"
#include "tap/wire/builder.h"

namespace netd::tap {

void UdpEngine::on_guest_datagram(Time now, const wire::IpView& ip, const wire::UdpView& udp, Actions& out) {
  FlowKey key{ip.src(), udp.src_port(), ip.dst(), udp.dst_port()};
  auto id = flows_.lookup(key);
  if (id) {
    // A reply to a client of a published port goes back out of that port
    // (checked before the destination policy: such clients may appear as the
    // gateway even with host loopback disabled).
    Flow* f = flows_.find(*id);
    if (f->published) {
      f->last_used = now;
      f->replied = true;
      auto payload = udp.payload();
      out.to_host.push_back(SendToPeer{f->published->listener, f->published->peer,
                                       std::vector<std::byte>(payload.begin(), payload.end())});
      ++ctx_.counters.udp_published_out;
      return;
    }
  }
  auto host = host_destination(ctx_.cfg, ip.dst());
  if (!host || udp.dst_port() == 0) {
    ++ctx_.counters.drop_policy;
    return;
  }
  if (id && flows_.find(*id)->host != *host) {
    // The destination moved on the host (the guest alias follows the host's
    // own address): the old socket is connected to the old one, so the flow
    // starts over with a new socket.
    flows_.erase(*id, out);
    id.reset();
  }
  if (!id) {
    id = flows_.insert(Flow{key, now, false, std::nullopt, {}, *host});
    if (!id) {
      // At the limit: refused as by a firewall, so the application learns
      // at once instead of waiting for answers that cannot come.
      ++ctx_.counters.udp_flow_limit;
      ErrorQuote q;
      q.keep(ip);
      send_unreachable(ctx_, ip.dst(), ip.src(), wire::icmp_dialect(key.family()).admin_prohibited, q, out);
      return;
    }
    out.to_host.push_back(OpenSocket{*id, SocketKind::Udp, *host, udp.dst_port()});
    ++ctx_.counters.udp_flows_opened;
  }
  Flow* f = flows_.find(*id);
  f->last_used = now;
  f->quote.keep(ip);

  auto payload = udp.payload();
  out.to_host.push_back(SendOnSocket{*id, std::vector<std::byte>(payload.begin(), payload.end())});
  ++ctx_.counters.udp_to_host;
}

void UdpEngine::on_host_datagram(Time now, FlowId flow, std::span<const std::byte> data, Actions& out) {
  Flow* f = flows_.find(flow);
  if (!f) return;
  f->last_used = now;
  f->replied = true;
  wire::IpHeader h{.src = f->key.dst_ip, .dst = f->key.guest_ip, .proto = wire::IpProto::Udp};
  out.to_tap.push_back(wire::build_ip_udp(ctx_.to_guest(), h, f->key.dst_port, f->key.guest_port, data));
  ++ctx_.counters.udp_from_host;
}

std::optional<FlowId> UdpEngine::on_published_datagram(Time now, uint32_t listener, const HostPeer& peer,
                                                       const wire::IpAddr& seen, const wire::IpAddr& guest,
                                                       uint16_t guest_port, std::span<const std::byte> data,
                                                       Actions& out) {
  if (data.size() > (guest.is_v4() ? kMaxPayload : kMaxPayload6)) {
    // An IPv6 client can send more than one IPv4 datagram holds.
    ++ctx_.counters.udp_published_drops;
    return std::nullopt;
  }
  FlowKey key{guest, guest_port, seen, peer.port};
  auto id = flows_.lookup(key);
  if (id) {
    const Flow* f = flows_.find(*id);
    // Another client that the guest would see under the same address and
    // port (two IPv6 or loopback clients shown as the gateway): the guest
    // could not tell their replies apart, so the later one is dropped. An
    // outbound flow the guest opened to this very client is fine: the
    // datagram is delivered and replies keep using that flow's socket.
    if (f->published && !(f->published->listener == listener && f->published->peer == peer)) {
      ++ctx_.counters.udp_published_drops;
      return std::nullopt;
    }
  } else {
    id = flows_.insert(Flow{key, now, false, Published{listener, peer}});
    if (!id) {
      ++ctx_.counters.udp_flow_limit;
      return std::nullopt;
    }
    ++ctx_.counters.udp_published_flows;
  }
  flows_.find(*id)->last_used = now;
  wire::IpHeader h{.src = seen, .dst = guest, .proto = wire::IpProto::Udp};
  out.to_tap.push_back(wire::build_ip_udp(ctx_.to_guest(), h, peer.port, guest_port, data));
  ++ctx_.counters.udp_published_in;
  return id;
}

void UdpEngine::forget_listener(uint32_t listener, Actions& out) {
  ctx_.counters.udp_flows_expired += flows_.erase_if(
      [listener](const Flow& f) { return f.published && f.published->listener == listener; }, out);
}

void UdpEngine::on_host_error(Time now, FlowId flow, int err, Actions& out) {
  Flow* f = flows_.find(flow);
  if (!f) return;
  if (err == EMFILE || err == ENFILE) {
    // No socket for this flow (netd is out of file descriptors): refuse the
    // datagram and forget the flow, so the next one tries again.
    ++ctx_.counters.fd_exhausted;
    send_unreachable(ctx_, f->key.dst_ip, f->key.guest_ip, wire::icmp_dialect(f->key.family()).admin_prohibited,
                     f->quote, out);
    flows_.erase(flow, out);
    return;
  }
  auto code = unreachable_code(f->key.family(), err);
  if (!code) {
    ++ctx_.counters.host_socket_errors;
    LOG_DEBUG("udp flow %llu: %s", static_cast<unsigned long long>(flow), std::strerror(err));
    return;
  }
  f->last_used = now;
  if (f->quote.len == 0) return;
  // The error comes "from" the destination the guest addressed, as a router
  // or the host itself would send it.
  send_unreachable(ctx_, f->key.dst_ip, f->key.guest_ip, *code, f->quote, out);
  ++ctx_.counters.udp_port_unreachable;
}

void UdpEngine::on_timer(Time now, Actions& out) {
  ctx_.counters.udp_flows_expired += flows_.sweep(
      now, [](const Flow& f) { return f.replied ? kRepliedTimeout : kUnrepliedTimeout; }, out);
}

}  // namespace netd::tap
