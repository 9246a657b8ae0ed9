#include "bridge/network_state.h"

#include <nlohmann/json.hpp>

namespace netd::bridge {

using nlohmann::json;

const Member* NetworkState::find(std::string_view container) const {
  for (const auto& m : members)
    if (m.container == container) return &m;
  return nullptr;
}

std::vector<net::Ipv4Addr> NetworkState::leased() const {
  std::vector<net::Ipv4Addr> out;
  for (const auto& m : members)
    if (auto a = net::Ipv4Addr::parse(m.ipv4)) out.push_back(*a);
  return out;
}

std::vector<net::Ipv6Addr> NetworkState::leased6() const {
  std::vector<net::Ipv6Addr> out;
  for (const auto& m : members)
    if (auto a = net::Ipv6Addr::parse(m.ipv6)) out.push_back(*a);
  return out;
}

std::string serialize_state(const NetworkState& s) {
  json ms = json::array();
  for (const auto& m : s.members) {
    json ports = json::array();
    for (const auto& p : m.ports)
      ports.push_back({{"proto", p.proto},
                       {"host_ip", p.host_ip},
                       {"host_port", p.host_port},
                       {"container_port", p.container_port},
                       {"forward_id", p.forward_id}});
    ms.push_back({{"container", m.container},
                  {"aliases", m.aliases},
                  {"ipv4", m.ipv4},
                  {"ipv6", m.ipv6},
                  {"netns", m.netns},
                  {"netns_id", m.netns_id},
                  {"interface", m.interface},
                  {"host_veth", m.host_veth},
                  {"ports", std::move(ports)}});
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
        m.ipv6 = e.value("ipv6", "");
        m.netns = e.value("netns", "");
        m.netns_id = e.value("netns_id", "");
        m.interface = e.value("interface", "eth0");
        m.host_veth = e.value("host_veth", "");
        if (auto pt = e.find("ports"); pt != e.end() && pt->is_array()) {
          for (const auto& x : *pt) {
            PublishedPort p;
            p.proto = x.value("proto", "tcp");
            p.host_ip = x.value("host_ip", "0.0.0.0");
            p.host_port = x.at("host_port").get<uint16_t>();
            p.container_port = x.at("container_port").get<uint16_t>();
            p.forward_id = x.value("forward_id", uint64_t{0});
            m.ports.push_back(std::move(p));
          }
        }
        s.members.push_back(std::move(m));
      }
    }
    return s;
  } catch (const json::exception& e) {
    return unexpected(std::string("state file is malformed: ") + e.what());
  }
}

}  // namespace netd::bridge
