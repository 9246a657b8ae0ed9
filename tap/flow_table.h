// FlowTable: the guest-flow bookkeeping shared by the UDP and ICMP engines.
//
// A flow is found by its guest 4-tuple (FlowKey) when the guest sends, and by
// its FlowId when the host socket answers. Ids come from one counter shared by
// all engines of a Stack, so the loop's FlowId -> socket map never mixes
// protocols up. The table is bounded (a full table refuses new flows; the
// caller counts that) and expires idle flows in a sweep at most once a second,
// which is O(flows) per second and needs no timer per flow.
#pragma once

#include <optional>
#include <unordered_map>

#include "common/time.h"
#include "tap/actions.h"
#include "tap/flow_key.h"

namespace netd::tap {

// Flow must have members `FlowKey key` and `Time last_used`.
template <class Flow>
class FlowTable {
 public:
  FlowTable(FlowId& next_id, size_t max_flows) : next_id_(next_id), max_(max_flows) {}

  Flow* find(FlowId id) {
    auto it = flows_.find(id);
    return it == flows_.end() ? nullptr : &it->second;
  }
  // Returns the id of the flow for `key`, or nullopt.
  std::optional<FlowId> lookup(const FlowKey& key) const {
    auto it = by_key_.find(key);
    if (it == by_key_.end()) return std::nullopt;
    return it->second;
  }
  // Adds a flow; returns its new id, or nullopt when the table is full.
  std::optional<FlowId> insert(Flow flow) {
    if (flows_.size() >= max_) return std::nullopt;
    FlowId id = next_id_++;
    by_key_.emplace(flow.key, id);
    flows_.emplace(id, std::move(flow));
    return id;
  }
  // Removes the flow and asks the loop to close its socket.
  void erase(FlowId id, Actions& out) {
    auto it = flows_.find(id);
    if (it == flows_.end()) return;
    by_key_.erase(it->second.key);
    flows_.erase(it);
    out.to_host.push_back(CloseSocket{id});
  }
  // Removes every flow for which pred(flow) holds; returns how many.
  template <class Pred>
  size_t erase_if(Pred pred, Actions& out) {
    size_t n = 0;
    for (auto it = flows_.begin(); it != flows_.end();) {
      auto cur = it++;
      if (pred(cur->second)) {
        erase(cur->first, out);
        ++n;
      }
    }
    return n;
  }
  // Closes every flow for which idle_limit(flow) has passed since last_used.
  // Returns how many were closed. Runs at most once a second.
  template <class IdleLimit>
  size_t sweep(Time now, IdleLimit idle_limit, Actions& out) {
    if (now < next_sweep_) return 0;
    next_sweep_ = now + seconds(1);
    return erase_if([&](const Flow& f) { return now - f.last_used >= idle_limit(f); }, out);
  }
  std::optional<Time> next_deadline() const {
    if (flows_.empty()) return std::nullopt;
    return next_sweep_;
  }
  size_t size() const { return flows_.size(); }

 private:
  FlowId& next_id_;
  size_t max_;
  std::unordered_map<FlowId, Flow> flows_;
  std::unordered_map<FlowKey, FlowId, FlowKeyHash> by_key_;
  Time next_sweep_{};
};

}  // namespace netd::tap
