#include "tap/arp_responder.h"

#include "tap/wire/builder.h"

namespace netd::tap {

bool ArpResponder::answers_for(wire::Ipv4Addr target, wire::Ipv4Addr sender) const {
  const StackConfig& c = ctx_.cfg;
  if (!c.copied()) return target == c.gateway || target == c.dns;
  // Copied layout: every other host is behind netd (proxy ARP), but the
  // guest's own address is the guest's (its probes and announcements, where
  // sender and target are the same, get no answer), and nothing answers for
  // addresses no host can have.
  if (target == c.guest || target == sender) return false;
  return !(target.is_unspecified() || target.is_loopback() || target.is_multicast() || target.is_broadcast() ||
           target == c.cidr.broadcast());
}

void ArpResponder::on_arp(const wire::ArpView& arp, Actions& out) {
  if (arp.op() != wire::kArpRequest) return;  // replies from the guest carry nothing for us
  const wire::Ipv4Addr target = arp.target_ip();
  if (!answers_for(target, arp.sender_ip())) return;
  // A probe (sender 0.0.0.0) is answered too: RFC 5227 expects the owner to
  // defend its address, and the guest must not take the gateway's.
  wire::L2Addrs l2{ctx_.cfg.gateway_mac, arp.sender_mac()};
  out.to_tap.push_back(wire::build_arp(l2, wire::kArpReply, ctx_.cfg.gateway_mac, target,
                                       arp.sender_mac(), arp.sender_ip()));
  ++ctx_.counters.arp_replies;
}

}  // namespace netd::tap
