// ARP: netd answers for the addresses it owns in the guest's subnet (gateway
// and DNS) with its own MAC. Everything else (probes, gratuitous ARP, requests
// for other addresses) gets no answer, like an empty segment would.
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
  EngineContext& ctx_;
};

}  // namespace netd::tap
