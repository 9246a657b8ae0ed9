#include "portfwd/forward_registry.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace netd::portfwd {

Expected<Forward, std::string> ForwardRegistry::prepare(const Forward& req) {
  for (const auto& f : entries_) {
    if (f.proto == req.proto && f.host_addr == req.host_addr && f.host_port == req.host_port) {
      return unexpected("bad request: " + std::string(proto_name(req.proto)) + " host port " +
                        std::to_string(req.host_port) + " on " + req.host_addr.to_string() +
                        " is already forwarded (id " + std::to_string(f.id) + ")");
    }
  }
  Forward f = req;
  f.id = next_id_++;
  return f;
}

void ForwardRegistry::commit(const Forward& f) { entries_.push_back(f); }

bool ForwardRegistry::contains(uint64_t id) const {
  return std::any_of(entries_.begin(), entries_.end(), [id](const Forward& f) { return f.id == id; });
}

void ForwardRegistry::erase(uint64_t id) {
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(), [id](const Forward& f) { return f.id == id; }),
                 entries_.end());
}

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
