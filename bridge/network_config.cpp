#include "bridge/network_config.h"

#include <nlohmann/json.hpp>

namespace netd::bridge {

using nlohmann::json;

std::string serialize_network(const Network& n) {
  json j;
  j["name"] = n.name;
  j["id"] = n.id;
  j["driver"] = n.driver;
  j["network_interface"] = n.network_interface;
  if (!n.created.empty()) j["created"] = n.created;
  json subs = json::array();
  for (const auto& s : n.subnets) {
    json o{{"subnet", s.subnet}};
    if (!s.gateway.empty()) o["gateway"] = s.gateway;
    if (s.lease_range)
      o["lease_range"] = {{"start_ip", s.lease_range->start_ip}, {"end_ip", s.lease_range->end_ip}};
    subs.push_back(std::move(o));
  }
  j["subnets"] = std::move(subs);
  j["ipv6_enabled"] = n.ipv6_enabled;
  j["internal"] = n.internal;
  j["dns_enabled"] = n.dns_enabled;
  j["network_dns_servers"] = n.network_dns_servers;
  j["options"] = n.options;
  j["ipam_options"] = {{"driver", n.ipam_driver}};
  return j.dump(2) + "\n";
}

namespace {

// Reads an optional member of type T; a member of the wrong type is an error.
template <class T>
bool get_opt(const json& o, const char* key, T& out, std::string& err) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return true;
  try {
    out = it->get<T>();
    return true;
  } catch (const json::exception&) {
    err = std::string("field '") + key + "' has the wrong type";
    return false;
  }
}

Expected<Subnet, std::string> parse_subnet(const json& o) {
  if (!o.is_object()) return unexpected(std::string("a subnet entry is not an object"));
  Subnet s;
  std::string err;
  if (!get_opt(o, "subnet", s.subnet, err) || !get_opt(o, "gateway", s.gateway, err))
    return unexpected(err);
  if (s.subnet.empty()) return unexpected(std::string("a subnet entry has no 'subnet'"));
  if (auto lr = o.find("lease_range"); lr != o.end() && lr->is_object()) {
    LeaseRange r;
    if (!get_opt(*lr, "start_ip", r.start_ip, err) || !get_opt(*lr, "end_ip", r.end_ip, err))
      return unexpected(err);
    s.lease_range = r;
  }
  if (s.subnet.find(':') != std::string::npos) {
    auto c = net::Ipv6Cidr::parse(s.subnet);
    if (!c) return unexpected("subnet '" + s.subnet + "' is not an IPv6 prefix");
    if (!s.gateway.empty()) {
      auto g = net::Ipv6Addr::parse(s.gateway);
      if (!g || !c->contains(*g))
        return unexpected("gateway '" + s.gateway + "' is not inside subnet " + s.subnet);
    }
  } else {
    auto c = net::Ipv4Cidr::parse(s.subnet);
    if (!c) return unexpected("subnet '" + s.subnet + "' is not an IPv4 prefix");
    if (!s.gateway.empty()) {
      auto g = net::Ipv4Addr::parse(s.gateway);
      if (!g || !c->contains(*g))
        return unexpected("gateway '" + s.gateway + "' is not inside subnet " + s.subnet);
    }
  }
  return s;
}

}  // namespace

Expected<Network, std::string> parse_network(std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return unexpected(std::string("not valid JSON"));
  if (!j.is_object()) return unexpected(std::string("the network JSON is not an object"));
  Network n;
  std::string err;
  bool ok = get_opt(j, "name", n.name, err) && get_opt(j, "id", n.id, err) &&
            get_opt(j, "driver", n.driver, err) &&
            get_opt(j, "network_interface", n.network_interface, err) &&
            get_opt(j, "created", n.created, err) &&
            get_opt(j, "ipv6_enabled", n.ipv6_enabled, err) &&
            get_opt(j, "internal", n.internal, err) &&
            get_opt(j, "dns_enabled", n.dns_enabled, err) &&
            get_opt(j, "network_dns_servers", n.network_dns_servers, err);
  if (!ok) return unexpected(err);
  if (auto o = j.find("options"); o != j.end() && o->is_object()) {
    for (auto it = o->begin(); it != o->end(); ++it) {
      // netavark writes option values as strings; accept scalars of other types too.
      n.options[it.key()] = it->is_string() ? it->get<std::string>() : it->dump();
    }
  }
  if (auto o = j.find("ipam_options"); o != j.end() && o->is_object()) {
    if (!get_opt(*o, "driver", n.ipam_driver, err)) return unexpected(err);
  }
  if (auto s = j.find("subnets"); s != j.end() && !s->is_null()) {
    if (!s->is_array()) return unexpected(std::string("field 'subnets' is not an array"));
    for (const auto& e : *s) {
      auto sub = parse_subnet(e);
      if (!sub) return unexpected(sub.error());
      n.subnets.push_back(std::move(*sub));
    }
  }
  if (n.name.empty()) return unexpected(std::string("the network has no name"));
  if (auto e = check_network_name(n.name)) return unexpected(*e);
  if (n.driver != "bridge") return unexpected("driver '" + n.driver + "' is not supported (only bridge)");
  return n;
}

std::optional<std::string> check_network_name(std::string_view name) {
  auto bad = [&] {
    return "invalid network name '" + std::string(name) +
           "': use letters, digits, '_', '.', '-' (at most 64, starting with a letter or digit)";
  };
  if (name.empty() || name.size() > 64) return bad();
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-'))) return bad();
  }
  return std::nullopt;
}

std::optional<Ipv6Net> first_ipv6(const Network& n) {
  for (const auto& s : n.subnets) {
    auto c = net::Ipv6Cidr::parse(s.subnet);
    if (!c) continue;
    net::Ipv6Cidr net{c->network(), c->prefix};
    net::Ipv6Addr gw = net.host(1);
    if (!s.gateway.empty()) {
      if (auto g = net::Ipv6Addr::parse(s.gateway)) gw = *g;
    }
    return Ipv6Net{net, gw};
  }
  return std::nullopt;
}

std::optional<std::string> set_network_option(std::map<std::string, std::string>& options, std::string_view kv) {
  size_t eq = kv.find('=');
  std::string key(kv.substr(0, eq));
  std::string value(eq == std::string_view::npos ? "" : kv.substr(eq + 1));
  if (key != kOptAllowHostLoopback)
    return "unknown network option '" + key + "' (known: " + kOptAllowHostLoopback + "=true|false)";
  if (value != "true" && value != "false")
    return "option " + key + " takes true or false, not '" + value + "'";
  if (value == "true") options[key] = value;
  else options.erase(key);  // false is the default: the file says nothing
  return std::nullopt;
}

bool allows_host_loopback(const Network& n) {
  auto it = n.options.find(kOptAllowHostLoopback);
  return it != n.options.end() && it->second == "true";
}

std::optional<Ipv4Net> first_ipv4(const Network& n) {
  for (const auto& s : n.subnets) {
    auto c = net::Ipv4Cidr::parse(s.subnet);
    if (!c) continue;
    net::Ipv4Cidr net{c->network(), c->prefix};
    net::Ipv4Addr gw{net.addr.v + 1};
    if (!s.gateway.empty()) {
      if (auto g = net::Ipv4Addr::parse(s.gateway)) gw = *g;
    }
    return Ipv4Net{net, gw};
  }
  return std::nullopt;
}

}  // namespace netd::bridge
