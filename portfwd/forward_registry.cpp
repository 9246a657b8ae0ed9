#include "portfwd/forward_registry.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace netd::portfwd {

namespace {
bool same_port(const Forward& a, const Forward& b) {
  return a.proto == b.proto && a.host_addr == b.host_addr && a.host_port == b.host_port;
}
void erase_id(std::vector<Forward>& v, uint64_t id) {
  v.erase(std::remove_if(v.begin(), v.end(), [id](const Forward& f) { return f.id == id; }), v.end());
}
}  // namespace

Expected<Forward, std::string> ForwardRegistry::prepare(const Forward& req) {
  for (const auto* list : {&entries_, &pending_}) {
    for (const auto& f : *list) {
      if (!same_port(f, req)) continue;
      return unexpected("bad request: " + std::string(proto_name(req.proto)) + " host port " +
                        std::to_string(req.host_port) + " on " + req.host_addr.to_string() +
                        (list == &entries_ ? " is already forwarded" : " is being added") + " (id " +
                        std::to_string(f.id) + ")");
    }
  }
  Forward f = req;
  f.id = next_id_++;
  pending_.push_back(f);
  return f;
}

void ForwardRegistry::commit(const Forward& f) {
  erase_id(pending_, f.id);
  entries_.push_back(f);
}

void ForwardRegistry::abandon(uint64_t id) { erase_id(pending_, id); }

bool ForwardRegistry::contains(uint64_t id) const {
  return std::any_of(entries_.begin(), entries_.end(), [id](const Forward& f) { return f.id == id; });
}

void ForwardRegistry::erase(uint64_t id) { erase_id(entries_, id); }

std::string ForwardRegistry::list_reply() const {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& f : entries_) {
    list.push_back({{"id", f.id},
                    {"proto", proto_name(f.proto)},
                    {"host_addr", f.host_addr.to_string()},
                    {"host_port", f.host_port},
                    {"guest_addr", f.guest_addr.to_string()},
                    {"guest_port", f.guest_port}});
  }
  nlohmann::ordered_json r = {{"return", {{"entries", list}}}};
  return r.dump();
}

}  // namespace netd::portfwd
