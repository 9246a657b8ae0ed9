#include "dns/aardvark_config.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace netd::dns {
namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    auto p = s.find(sep);
    out.push_back(s.substr(0, p));
    if (p == std::string_view::npos) break;
    s.remove_prefix(p + 1);
  }
  return out;
}

// Comma list of addresses of one family; empty column -> empty list.
// (The IPv6 column takes any IPv6 text, ::ffff:a.b.c.d included, and
// answers AAAA queries with those 16 bytes.)
bool parse_ips(std::string_view col, bool want_v6, std::vector<net::IpAddr>& out) {
  if (col.empty()) return true;
  for (auto item : split(col, ',')) {
    if (item.empty()) continue;
    std::optional<net::IpAddr> a;
    if (want_v6) {
      if (auto v6 = net::Ipv6Addr::parse(item)) a = *v6;
    } else if (auto v4 = net::Ipv4Addr::parse(item)) {
      a = *v4;
    }
    if (!a) return false;
    out.push_back(*a);
  }
  return true;
}

bool parse_upstreams(std::string_view col, std::vector<UpstreamServer>& out, std::string& err) {
  for (auto item : split(col, ',')) {
    if (item.empty()) continue;
    auto u = parse_upstream(item);
    if (!u) {
      err = u.error();
      return false;
    }
    out.push_back(std::move(*u));
  }
  return true;
}

bool valid_name(std::string_view n) {
  if (n.empty() || n.size() > 253) return false;
  for (char c : n)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  return true;
}

}  // namespace

std::string lower_ascii(std::string_view s) {
  std::string o(s);
  for (char& c : o)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return o;
}

Expected<NetworkConfig, std::string> parse_network_file(std::string_view file_name,
                                                        std::string_view text,
                                                        std::vector<std::string>& warnings) {
  NetworkConfig net;
  net.name = std::string(file_name);
  constexpr std::string_view int_suffix = "%int";
  if (net.name.size() > int_suffix.size() &&
      std::string_view(net.name).substr(net.name.size() - int_suffix.size()) == int_suffix) {
    net.internal = true;
    net.name.resize(net.name.size() - int_suffix.size());
  }
  bool first = true;
  size_t lineno = 0;
  for (auto line : split(text, '\n')) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    auto f = split(line, ' ');
    if (first) {
      first = false;
      if (f.size() > 2) return unexpected(net.name + ":1: expected 'gateways [upstreams]'");
      std::vector<std::string_view> gws = split(f[0], ',');
      for (auto g : gws) {
        if (g.empty()) continue;
        auto a = net::IpAddr::parse(g);
        if (!a) return unexpected(net.name + ":1: bad gateway address '" + std::string(g) + "'");
        net.listen.push_back(*a);
      }
      std::string err;
      if (f.size() == 2 && !parse_upstreams(f[1], net.upstreams, err))
        return unexpected(net.name + ":1: " + err);
      continue;
    }
    auto warn = [&](const std::string& why) {
      warnings.push_back(net.name + ":" + std::to_string(lineno) + ": " + why + ", line skipped");
    };
    if (f.size() < 4 || f.size() > 5) {
      warn("expected 'id v4s v6s names [upstreams]'");
      continue;
    }
    ContainerEntry c;
    c.id = lower_ascii(f[0]);
    if (c.id.empty()) {
      warn("empty container id");
      continue;
    }
    if (!parse_ips(f[1], false, c.v4)) {
      warn("bad IPv4 address list '" + std::string(f[1]) + "'");
      continue;
    }
    if (!parse_ips(f[2], true, c.v6)) {
      warn("bad IPv6 address list '" + std::string(f[2]) + "'");
      continue;
    }
    bool bad = false;
    for (auto n : split(f[3], ',')) {
      if (n.empty()) continue;
      if (!valid_name(n)) {
        bad = true;
        break;
      }
      std::string ln = lower_ascii(n);
      if (ln.back() == '.') ln.pop_back();
      if (!ln.empty() && std::find(c.names.begin(), c.names.end(), ln) == c.names.end())
        c.names.push_back(std::move(ln));
    }
    if (bad || c.names.empty()) {
      warn("bad or missing names");
      continue;
    }
    std::string err;
    if (f.size() == 5 && !parse_upstreams(f[4], c.upstreams, err)) {
      warn(err);
      continue;
    }
    net.containers.push_back(std::move(c));
  }
  if (first) return unexpected(net.name + ": empty file");
  return net;
}

Expected<std::vector<NetworkConfig>, std::string> load_config_dir(const std::string& dir,
                                                                  std::vector<std::string>& warnings) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return unexpected("cannot read config directory " + dir + ": " + ec.message());
  std::vector<std::string> files;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return unexpected("cannot read config directory " + dir + ": " + ec.message());
    std::string name = it->path().filename().string();
    if (name == "aardvark.pid" || name.empty() || name[0] == '.') continue;
    std::error_code e2;
    if (!it->is_regular_file(e2)) continue;
    files.push_back(name);
  }
  std::sort(files.begin(), files.end());
  std::vector<NetworkConfig> out;
  for (const auto& name : files) {
    std::ifstream in(dir + "/" + name, std::ios::binary);
    if (!in) {
      warnings.push_back(name + ": cannot open, skipped");
      continue;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    if (text.size() > (64u << 20)) {
      warnings.push_back(name + ": larger than 64 MiB, skipped");
      continue;
    }
    auto net = parse_network_file(name, text, warnings);
    if (!net) {
      warnings.push_back(net.error() + ", network skipped");
      continue;
    }
    out.push_back(std::move(*net));
  }
  return out;
}

}  // namespace netd::dns
