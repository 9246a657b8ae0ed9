// TCP from the guest. Part 1 of the attach work: every connection attempt is
// refused with a RST (RFC 793 reset generation for a CLOSED port), so guest
// applications fail fast and clearly. The translating engine (issue 3)
// replaces this file.
#pragma once

#include "common/time.h"
#include "tap/actions.h"
#include "tap/engine_context.h"
#include "tap/wire/ipv4.h"
#include "tap/wire/tcp.h"

namespace netd::tap {

class TcpEngine {
 public:
  explicit TcpEngine(EngineContext& ctx) : ctx_(ctx) {}
  // A parsed segment from the guest; appends the RST that answers it (none
  // for a segment that is itself a RST).
  void on_guest_segment(Time now, const wire::Ipv4View& ip, const wire::TcpView& tcp, Actions& out);

 private:
  EngineContext& ctx_;
};

}  // namespace netd::tap
