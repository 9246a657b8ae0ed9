#include "netd/pasta_runtime.h"

#include <chrono>
#include <future>

#include "common/log.h"
#include "portfwd/port_holder.h"
#include "portfwd/port_spec.h"

namespace netd {

bool has_scan_rules(const portfwd::FwdTable& t) {
  for (const auto& r : t.rules)
    if (r.scan) return true;
  return false;
}

PastaRuntime::PastaRuntime(PastaRuntimeOptions opts, tap::Dataplane& dp, const tap::StackConfig& cfg,
                           portfwd::ControlQueue& queue)
    : opts_(std::move(opts)),
      queue_(queue),
      ports_(dp, cfg, portfwd::unprivileged_port_start()),
      inbound_(opts_.tables.inbound) {}

Expected<std::unique_ptr<PastaRuntime>, std::string> PastaRuntime::create(PastaRuntimeOptions opts,
                                                                           tap::Dataplane& dp,
                                                                           const tap::StackConfig& cfg,
                                                                           portfwd::ControlQueue& queue) {
  std::unique_ptr<PastaRuntime> rt(new PastaRuntime(std::move(opts), dp, cfg, queue));
  // The namespace is scanned even without 'auto' rules at start when pesto
  // may add some later.
  if (has_scan_rules(rt->inbound_) || !rt->opts_.control_socket.empty()) {
    auto s = NsPortScanner::open(rt->opts_.target);
    if (!s) return unexpected("cannot watch the namespace's ports: " + s.error());
    rt->scanner_ = std::move(*s);
    rt->bound_ = rt->scanner_->scan();
  }
  // Single-threaded still: the ports are bound here, directly, before
  // pasta reports ready. A port the netd of this container's previous run
  // still holds is waited for (bounded; the error names the holder).
  if (auto r = rt->ports_.reconcile(rt->inbound_, rt->bound_, portfwd::kPortHandoverWait); !r)
    return unexpected(r.error());
  // -T/-U: listeners inside the namespace, a forwarder (and its ring) now.
  auto plan = plan_outbound(rt->opts_.tables.outbound, cfg.ipv4, cfg.ipv6);
  if (!plan) return unexpected(plan.error());
  if (!plan->empty()) {
    auto o = PastaOutbound::create(*plan, rt->opts_.target);
    if (!o) return unexpected(o.error());
    rt->outbound_ = std::move(*o);
    LOG_INFO("-T/-U: %zu namespace loopback port(s) forwarded to the host", plan->size());
  }
  if (!rt->opts_.control_socket.empty()) {
    auto l = PestoServer::bind(rt->opts_.control_socket);
    if (!l) return unexpected(l.error());
    rt->pesto_listener_ = std::move(*l);
  }
  return rt;
}

Expected<void, std::string> PastaRuntime::start() {
  if (outbound_) outbound_->start();
  if (scanner_) scan_thread_ = std::thread([this] { scan_loop(); });
  if (pesto_listener_) {
    PestoServerOptions o;
    o.path = opts_.control_socket;
    o.listener = pesto_listener_.release();
    o.tables = opts_.tables;
    o.apply = [this](const portfwd::FwdTables& next) { return apply_pesto(next); };
    auto s = PestoServer::start(std::move(o));
    if (!s) return unexpected(s.error());
    pesto_ = std::move(*s);
    LOG_INFO("configuration socket %s ready for pesto", opts_.control_socket.c_str());
  }
  return {};
}

PastaRuntime::~PastaRuntime() {
  if (pesto_) pesto_->stop();
  outbound_.reset();  // stops and joins the -T/-U forwarder
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (scan_thread_.joinable()) scan_thread_.join();
}

Expected<void, std::string> PastaRuntime::reconcile_on_loop(const portfwd::FwdTable& inbound) {
  BoundPorts bound;
  {
    std::lock_guard lk(mu_);
    bound = bound_;
  }
  // Shared with the closures: a loop that answers late finds them alive.
  auto prebound = std::make_shared<PastaPorts::Prebound>();
  const auto deadline = std::chrono::steady_clock::now() + portfwd::kPortHandoverWait;
  for (;;) {
    auto in_use = std::make_shared<std::optional<PastaPorts::Key>>();
    auto done = std::make_shared<std::promise<Expected<void, std::string>>>();
    auto result = done->get_future();
    queue_.post([this, inbound, bound, done, prebound, in_use] {
      done->set_value(ports_.reconcile(inbound, bound, {}, prebound.get(), in_use.get()));
    });
    // The loop drains its queue between two batches: a few milliseconds at
    // worst. A loop that has stopped never answers.
    if (result.wait_for(std::chrono::seconds(5)) != std::future_status::ready)
      return unexpected(std::string("the data plane did not take the change within 5 s"));
    auto r = result.get();
    if (r || !*in_use) return r;
    // A port in use (an older netd may still hold it): wait here, off the
    // loop, then run the change again with the socket.
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || prebound->count(**in_use)) return r;
    auto sock = ports_.bind_waiting(**in_use, left);
    if (!sock) return unexpected(sock.error());
    (*prebound)[**in_use] = std::move(*sock);
  }
}

Expected<void, std::string> PastaRuntime::apply_pesto(const portfwd::FwdTables& next) {
  if (next.outbound.rules != opts_.tables.outbound.rules)
    return unexpected(std::string("netd takes the namespace-to-host rules (-T/-U) only at start-up"));
  std::lock_guard change(change_mu_);
  auto r = reconcile_on_loop(next.inbound);
  if (!r) {
    LOG_WARN("pesto: new forwarding rules refused: %s", r.error().c_str());
    return r;
  }
  std::lock_guard lk(mu_);
  inbound_ = next.inbound;
  LOG_INFO("pesto: %zu inbound forwarding rule(s) in force", inbound_.rules.size());
  return {};
}

void PastaRuntime::scan_loop() {
  for (;;) {
    {
      std::unique_lock lk(mu_);
      if (stop_cv_.wait_for(lk, std::chrono::seconds(1), [this] { return stopping_; })) return;
    }
    BoundPorts now = scanner_->scan();
    portfwd::FwdTable inbound;
    std::lock_guard change(change_mu_);
    {
      std::lock_guard lk(mu_);
      if (now == bound_ || !has_scan_rules(inbound_)) {
        bound_ = now;
        continue;
      }
      bound_ = now;
      inbound = inbound_;
    }
    if (auto r = reconcile_on_loop(inbound); !r) LOG_WARN("auto port forwarding: %s", r.error().c_str());
  }
}

}  // namespace netd
