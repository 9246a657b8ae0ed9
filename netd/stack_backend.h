// StackBackend: the control API's forwards (add_hostfwd & co.) carried by
// the attach engine's own data plane: published ports through the tap stack,
// so the guest sees each client's real address.
//
// Theory of operation: the API server (control thread) posts every add and
// remove to queue(); the data plane polls the queue's eventfd on its ring and
// drains it between two batches of completions (Dataplane::watch_control), so
// add() and remove() run on the loop thread, never concurrently with packet
// processing, and the control thread never waits for the loop. add() checks
// the guest address, binds the host socket (open_host_socket: the same
// messages as `-p`) and hands it to Dataplane::publish under the forward's id.
#pragma once

#include "portfwd/forward_registry.h"
#include "portfwd/port_spec.h"
#include "tap/dataplane.h"

namespace netd {

// Lives in netd/, the layer that wires the tap stack and port forwarding
// together, so that portfwd/ does not depend on tap/.
class StackBackend final : public portfwd::ForwardBackend {
 public:
  // `dp` must outlive the backend; `cfg` gives the guest subnet.
  // Construct before the sandbox: it reads net.ipv4.ip_unprivileged_port_start.
  StackBackend(tap::Dataplane& dp, const tap::StackConfig& cfg)
      : dp_(dp), cfg_(cfg), unpriv_start_(portfwd::unprivileged_port_start()) {}
  // Lets the data plane drain queue() (call before Dataplane::run).
  void attach();

  Expected<UniqueFd, std::string> open(const portfwd::Forward& f) override;
  Expected<void, std::string> add(const portfwd::Forward& f, UniqueFd socket) override;
  Expected<void, std::string> remove(uint64_t id) override;
  std::string flows_json() override { return dp_.published_flows_json(); }
  std::string counters_json() override { return dp_.counters().to_json(); }
  portfwd::ControlQueue& queue() override { return queue_; }

 private:
  tap::Dataplane& dp_;
  tap::StackConfig cfg_;
  int unpriv_start_;
  portfwd::ControlQueue queue_;
};

}  // namespace netd
