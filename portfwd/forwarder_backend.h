// ForwarderBackend: a portfwd::Forwarder as the control API's backend
// (`netd slirp4netns`'s interim add_hostfwd until the in-stack engine exists).
//
// Theory of operation: each Forward becomes one ForwardRule of the same id:
// host address and port as given, target = guest address and port, which the
// forwarder connects to from inside the namespace. The guest address is local
// inside the namespace, so the connection never crosses the tap; the guest
// sees it coming from its own address, not from the real client.
#pragma once

#include "portfwd/forward_registry.h"
#include "portfwd/forwarder.h"

namespace netd::portfwd {

class ForwarderBackend final : public ForwardBackend {
 public:
  explicit ForwarderBackend(Forwarder& f) : fwd_(f) {}
  Expected<void, std::string> add(const Forward& f) override {
    ForwardRule r;
    r.id = f.id;
    r.proto = f.proto;
    r.host_addr = f.host_addr;
    r.host_port = f.host_port;
    r.target_addr = f.guest_addr;
    r.target_port = f.guest_port;
    return fwd_.add(r);
  }
  Expected<void, std::string> remove(uint64_t id) override { return fwd_.remove(id); }
  std::string flows_json() override { return fwd_.flows_json(); }
  std::string counters_json() override { return fwd_.counters_json(); }
  ControlQueue& queue() override { return fwd_.control(); }

 private:
  Forwarder& fwd_;
};

}  // namespace netd::portfwd
