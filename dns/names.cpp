#include "dns/names.h"

#include <algorithm>

namespace netd::dns {
namespace {
template <class T>
void add_unique(std::vector<T>& v, const T& x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}
}  // namespace

NameTable::NameTable(std::vector<NetworkConfig> nets) : nets_(std::move(nets)) {
  by_name_.resize(nets_.size());
  for (uint32_t n = 0; n < nets_.size(); ++n) {
    for (const auto& l : nets_[n].listen) add_unique(by_listen_[l], n);
    for (uint32_t c = 0; c < nets_[n].containers.size(); ++c) {
      const auto& ctr = nets_[n].containers[c];
      if (!ctr.id.empty()) add_unique(by_id_[ctr.id], n);
      for (const auto& name : ctr.names) add_unique(by_name_[n][name], c);
      for (const auto* list : {&ctr.v4, &ctr.v6})
        for (const auto& a : *list) by_addr_[a].push_back({n, c});
    }
  }
}

NameTable::NetSet NameTable::scope(const net::IpAddr& source, const net::IpAddr& listen) const {
  NetSet out;
  auto it = by_addr_.find(source);
  if (it != by_addr_.end()) {
    for (const auto& r : it->second) {
      const std::string& id = nets_[r.net].containers[r.ctr].id;
      auto member = id.empty() ? by_id_.end() : by_id_.find(id);
      if (member == by_id_.end()) {
        add_unique(out, r.net);
        continue;
      }
      for (uint32_t n : member->second) add_unique(out, n);
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  auto l = by_listen_.find(listen);
  if (l != by_listen_.end()) out = l->second;
  return out;
}

bool NameTable::is_container(const net::IpAddr& source) const { return by_addr_.count(source) > 0; }

NameTable::Addresses NameTable::lookup(const NetSet& nets, std::string_view lower_name) const {
  Addresses out;
  std::string key(lower_name);
  for (uint32_t n : nets) {
    auto it = by_name_[n].find(key);
    if (it == by_name_[n].end()) continue;
    out.found = true;
    for (uint32_t c : it->second) {
      for (const auto& a : nets_[n].containers[c].v4) add_unique(out.v4, a);
      for (const auto& a : nets_[n].containers[c].v6) add_unique(out.v6, a);
    }
  }
  return out;
}

std::vector<std::string> NameTable::reverse(const NetSet& nets, const net::IpAddr& addr) const {
  std::vector<std::string> out;
  auto it = by_addr_.find(addr);
  if (it == by_addr_.end()) return out;
  for (const auto& r : it->second) {
    if (std::find(nets.begin(), nets.end(), r.net) == nets.end()) continue;
    for (const auto& name : nets_[r.net].containers[r.ctr].names) add_unique(out, name);
  }
  return out;
}

std::vector<UpstreamServer> NameTable::upstreams_for(const NetSet& nets, const net::IpAddr& source) const {
  auto it = by_addr_.find(source);
  if (it != by_addr_.end()) {
    for (const auto& r : it->second) {
      if (std::find(nets.begin(), nets.end(), r.net) == nets.end()) continue;
      const auto& ups = nets_[r.net].containers[r.ctr].upstreams;
      if (!ups.empty()) return ups;
    }
  }
  for (uint32_t n : nets)
    if (!nets_[n].upstreams.empty()) return nets_[n].upstreams;
  return {};
}

bool NameTable::all_internal(const NetSet& nets) const {
  if (nets.empty()) return false;
  for (uint32_t n : nets)
    if (!nets_[n].internal) return false;
  return true;
}

std::vector<net::IpAddr> NameTable::listen_addresses() const {
  std::vector<net::IpAddr> out;
  for (const auto& n : nets_)
    for (const auto& l : n.listen) add_unique(out, l);
  return out;
}

}  // namespace netd::dns
