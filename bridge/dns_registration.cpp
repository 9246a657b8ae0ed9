#include "bridge/dns_registration.h"

#include "bridge/network_ops.h"

namespace netd::bridge {

std::vector<dns::NetworkConfig> dns_configs(const std::vector<Network>& nets,
                                            const std::vector<NetworkState>& states,
                                            std::vector<std::string>& warnings) {
  std::vector<dns::NetworkConfig> out;
  for (size_t i = 0; i < nets.size() && i < states.size(); ++i) {
    const Network& n = nets[i];
    const NetworkState& s = states[i];
    if (!n.dns_enabled || s.members.empty()) continue;
    auto v4 = first_ipv4(n);
    if (!v4) continue;
    dns::NetworkConfig c;
    c.name = n.name;
    c.internal = n.internal;
    c.listen.push_back(v4->gateway);
    if (auto v6 = first_ipv6(n)) c.listen.push_back(v6->gateway);
    for (const auto& server : n.network_dns_servers) {
      auto u = dns::parse_upstream(server);
      if (!u) {
        warnings.push_back("network " + n.name + ": dns server '" + server + "' skipped: " + u.error());
        continue;
      }
      c.upstreams.push_back(*u);
    }
    for (const auto& m : s.members) {
      auto a = net::IpAddr::parse(m.ipv4);
      if (!a || !a->is_v4()) {
        warnings.push_back("network " + n.name + ": container " + m.container + " has no usable address");
        continue;
      }
      dns::ContainerEntry e;
      // One container on several networks is one id, so it sees all of them.
      e.id = m.netns_id.empty() ? "name:" + m.container : "netns:" + m.netns_id;
      e.v4.push_back(*a);
      if (auto a6 = net::Ipv6Addr::parse(m.ipv6)) e.v6.push_back(*a6);
      e.names.push_back(dns::lower_ascii(m.container));
      for (const auto& al : m.aliases) e.names.push_back(dns::lower_ascii(al));
      c.containers.push_back(std::move(e));
    }
    out.push_back(std::move(c));
  }
  return out;
}

Expected<std::vector<dns::NetworkConfig>, std::string> load_dns_configs(const Paths& p,
                                                                        std::vector<std::string>& warnings) {
  auto nets = list_networks(p);
  if (!nets) return unexpected(nets.error());
  std::vector<NetworkState> states;
  for (const auto& n : *nets) {
    auto st = load_state(p, n.name);
    if (!st) {
      warnings.push_back(st.error());
      st = NetworkState{n.name, {}};
    }
    states.push_back(std::move(*st));
  }
  return dns_configs(*nets, states, warnings);
}

}  // namespace netd::bridge
