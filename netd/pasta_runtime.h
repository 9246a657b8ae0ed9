// What `netd pasta` adds to the attach engine while it runs: its forwarding
// tables carried into the data plane, the 'auto' port scan, and the pesto
// configuration socket (-c).
//
// Theory of operation: created inside run_attach() once the data plane
// exists (single-threaded, before the sandbox): the inbound table's ports
// are bound and published there (PastaPorts), so a port in use fails
// start-up, before pasta reports ready. With 'auto' rules the namespace's
// /proc net files are opened then too (NsPortScanner). start() then runs a
// scan thread (every second, as pasta rescans) and the pesto server. Both
// change ports the same way: they post a reconcile to the data plane's
// control queue and wait (bounded) for its result, so every change happens
// on the loop thread between two batches of packets. A port in use is
// waited for at start-up (before ready) and, for a pesto change, on the
// pesto thread, never on the loop's (netd/pasta_ports.h). The outbound table
// (-T/-U: namespace ports forwarded to the host's loopback) is carried by a
// forwarder of its own (netd/pasta_outbound.h), set up here too and run on
// its own thread from start() until the runtime is destroyed; its rules are
// fixed at start-up: pesto updates that change them are refused.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "netd/attach_runner.h"
#include "netd/pasta_outbound.h"
#include "netd/pasta_ports.h"
#include "netd/pesto_server.h"
#include "netd/port_scanner.h"
#include "portfwd/fwd_rule.h"

namespace netd {

struct PastaRuntimeOptions {
  portfwd::FwdTables tables;
  NsTarget target;             // for the 'auto' scan
  std::string control_socket;  // -c; empty: none
};

class PastaRuntime final : public AttachExtension {
 public:
  static Expected<std::unique_ptr<PastaRuntime>, std::string> create(PastaRuntimeOptions opts, tap::Dataplane& dp,
                                                                     const tap::StackConfig& cfg,
                                                                     portfwd::ControlQueue& queue);
  ~PastaRuntime() override;
  Expected<void, std::string> start() override;

 private:
  PastaRuntime(PastaRuntimeOptions opts, tap::Dataplane& dp, const tap::StackConfig& cfg,
               portfwd::ControlQueue& queue);
  // Runs a reconcile of `inbound` on the loop thread and waits for it. A
  // strong port in use is then waited for here, on the calling thread
  // (bounded: kPortHandoverWait in all), and the reconcile runs again
  // with its socket.
  Expected<void, std::string> reconcile_on_loop(const portfwd::FwdTable& inbound);
  Expected<void, std::string> apply_pesto(const portfwd::FwdTables& next);
  void scan_loop();

  PastaRuntimeOptions opts_;
  portfwd::ControlQueue& queue_;
  PastaPorts ports_;                   // loop thread only
  std::optional<NsPortScanner> scanner_;
  std::mutex change_mu_;               // one change (scan or pesto) at a time, in order
  std::mutex mu_;                      // guards inbound_, bound_ (read by both threads)
  portfwd::FwdTable inbound_;
  BoundPorts bound_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread scan_thread_;
  std::unique_ptr<PestoServer> pesto_;
  UniqueFd pesto_listener_;
  std::unique_ptr<PastaOutbound> outbound_;  // -T/-U; null without rules
};

// Whether a table has 'auto' rules (which need the namespace scanned).
bool has_scan_rules(const portfwd::FwdTable& t);

}  // namespace netd
