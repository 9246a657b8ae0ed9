#include "tap/arp_responder.h"

#include "tap/wire/builder.h"

namespace netd::tap {

void ArpResponder::on_arp(const wire::ArpView& arp, Actions& out) {
  if (arp.op() != wire::kArpRequest) return;  // replies from the guest carry nothing for us
  const wire::Ipv4Addr target = arp.target_ip();
  if (target != ctx_.cfg.gateway && target != ctx_.cfg.dns) return;
  // A probe (sender 0.0.0.0) is answered too: RFC 5227 expects the owner to
  // defend its address, and the guest must not take the gateway's.
  wire::L2Addrs l2{ctx_.cfg.gateway_mac, arp.sender_mac()};
  out.to_tap.push_back(wire::build_arp(l2, wire::kArpReply, ctx_.cfg.gateway_mac, target,
                                       arp.sender_mac(), arp.sender_ip()));
  ++ctx_.counters.arp_replies;
}

}  // namespace netd::tap
