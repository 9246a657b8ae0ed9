#include "tap/action_runner.h"

#include <variant>

#include "tap/counters.h"
#include "tap/dns_watcher.h"
#include "tap/host_sockets.h"
#include "tap/published_ports.h"
#include "tap/tap_port.h"

namespace netd::tap {

namespace {

// Bounded work per wake-up when actions trigger more actions synchronously.
constexpr int kMaxActionRounds = 8;

struct Apply {
  QueueParts& p;
  Time now;
  void operator()(OpenSocket& o) { p.sockets.open(now, o); }
  void operator()(SendOnSocket&) {}  // in runs: apply_round
  void operator()(CloseSocket& o) {
    if (p.published) p.published->forget(o.flow);
    p.sockets.close(o);
  }
  void operator()(ForwardDns& o) {
    if (p.dns)
      p.dns->forward(now, o);
    else
      ++p.counters.drop_unsupported;  // (a queue hands DNS to queue 0: never here)
  }
  void operator()(TcpConnect& o) { p.sockets.connect(now, o); }
  void operator()(TcpPoll& o) { p.sockets.poll(now, o); }
  void operator()(TcpRecv& o) { p.sockets.recv(now, o); }
  void operator()(TcpSend& o) { p.sockets.send(now, o); }
  void operator()(TcpShutdown& o) { p.sockets.shutdown(o); }
  void operator()(SendToPeer& o) {
    if (p.published)
      p.published->send_to_peer(now, o);
    else
      ++p.counters.drop_unsupported;  // (published flows live on queue 0: never here)
  }
};

bool is_teardown(const HostOp& op) {
  return std::holds_alternative<TcpShutdown>(op) || std::holds_alternative<CloseSocket>(op);
}

}  // namespace

void ActionRunner::apply_round(Time now, Actions& actions, QueueParts& parts) {
  std::swap(batch_, actions);  // the parts below may append new actions
  for (const auto& frame : batch_.to_tap) parts.tap.write(now, frame);
  auto& ops = batch_.to_host;
  for (size_t i = 0; i < ops.size();) {
    if (is_teardown(ops[i])) {
      teardown_.push_back(std::move(ops[i]));
      ++i;
      continue;
    }
    if (auto* first = std::get_if<SendOnSocket>(&ops[i])) {
      size_t j = i + 1;
      while (j < ops.size() && std::holds_alternative<SendOnSocket>(ops[j]) &&
             std::get<SendOnSocket>(ops[j]).flow == first->flow)
        ++j;
      parts.sockets.send_datagrams(now, std::span<HostOp>(ops).subspan(i, j - i));
      i = j;
      continue;
    }
    std::visit(Apply{parts, now}, ops[i]);
    ++i;
  }
  for (const auto& frame : actions.to_tap) parts.tap.write(now, frame);
  actions.to_tap.clear();
  for (auto& op : teardown_) std::visit(Apply{parts, now}, op);
  teardown_.clear();
  batch_.clear();  // (keeps the vectors' capacity for the next round)
}

void ActionRunner::apply(Time now, Actions& actions, QueueParts parts) {
  for (int round = 0; round < kMaxActionRounds && (!actions.to_tap.empty() || !actions.to_host.empty()); ++round)
    apply_round(now, actions, parts);
}

}  // namespace netd::tap
