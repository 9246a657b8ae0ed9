// ARP: in the slirp layout netd answers for the addresses it owns in the
// guest's subnet (gateway and DNS) with its own MAC; everything else (probes,
// gratuitous ARP, requests for other addresses) gets no answer, like an empty
// segment would. In the copied layout (pasta) every host but the guest sits
// behind netd, so netd answers for every address except the guest's own.
#pragma once

#include "tap/actions.h"
#include "tap/engine_context.h"
#include "tap/wire/arp.h"

namespace netd::tap {

class ArpResponder {
 public:
  explicit ArpResponder(EngineContext& ctx) : ctx_(ctx) {}
  // Takes a parsed ARP packet from the guest; appends a reply frame when the
  // request is for an address netd owns.
  void on_arp(const wire::ArpView& arp, Actions& out);

 private:
  // Whether a request from `sender` for `target` gets netd's MAC.
  bool answers_for(wire::Ipv4Addr target, wire::Ipv4Addr sender) const;
  EngineContext& ctx_;
};

}  // namespace netd::tap
