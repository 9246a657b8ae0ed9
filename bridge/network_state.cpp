#include "bridge/network_state.h"

#include <nlohmann/json.hpp>

namespace netd::bridge {

using nlohmann::json;

const Member* NetworkState::find(std::string_view container) const {
  for (const auto& m : members)
    if (m.container == container) return &m;
  return nullptr;
}

std::vector<Ipv4> NetworkState::leased() const {
  std::vector<Ipv4> out;
  for (const auto& m : members)
    if (auto a = parse_ipv4(m.ipv4)) out.push_back(*a);
  return out;
}

std::string serialize_state(const NetworkState& s) {
  json ms = json::array();
  for (const auto& m : s.members) {
    ms.push_back({{"container", m.container},
                  {"aliases", m.aliases},
                  {"ipv4", m.ipv4},
                  {"netns", m.netns},
                  {"interface", m.interface},
                  {"host_veth", m.host_veth}});
  }
  json j{{"network", s.network}, {"members", std::move(ms)}};
  return j.dump(2) + "\n";
}

Expected<NetworkState, std::string> parse_state(std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return unexpected(std::string("state file is not a JSON object"));
  try {
    NetworkState s;
    s.network = j.value("network", "");
    if (auto it = j.find("members"); it != j.end() && it->is_array()) {
      for (const auto& e : *it) {
        Member m;
        m.container = e.at("container").get<std::string>();
        m.aliases = e.value("aliases", std::vector<std::string>{});
        m.ipv4 = e.value("ipv4", "");
        m.netns = e.value("netns", "");
        m.interface = e.value("interface", "eth0");
        m.host_veth = e.value("host_veth", "");
        s.members.push_back(std::move(m));
      }
    }
    return s;
  } catch (const json::exception& e) {
    return unexpected(std::string("state file is malformed: ") + e.what());
  }
}

std::string dns_names(const Network& n, const NetworkState& s) {
  std::string out;
  if (auto v4 = first_ipv4(n)) out += to_string(v4->gateway);
  out += "\n";
  for (const auto& m : s.members) {
    out += m.container + " " + m.ipv4 + "  " + m.container;
    for (const auto& a : m.aliases) out += "," + a;
    out += "\n";
  }
  return out;
}

}  // namespace netd::bridge
