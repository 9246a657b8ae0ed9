#include "netd/podman_conf.h"

#include <charconv>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace netd::podman {

std::string toml_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string dropin_text(const std::string& helpers_dir, std::string_view netd_version) {
  std::string t;
  t += kDropinMarker;
  t += " (netd ";
  t += netd_version;
  t += ").\n";
  t += "# `netd setup podman --undo` removes it; put settings of your own in a file of\n";
  t += "# your own. Podman runs netd for rootless networking: as pasta (Podman 5's\n";
  t += "# default) and aardvark-dns from helper_binaries_dir, as slirp4netns (Podman 4's\n";
  t += "# default) from network_cmd_path. The other helper directories are Podman's\n";
  t += "# defaults: the list replaces Podman's own, which also finds netavark there.\n";
  t += "[engine]\n";
  t += "helper_binaries_dir = [\n";
  t += "  " + toml_string(helpers_dir) + ",\n";
  for (const char* d : kPodmanHelperDirs) t += "  " + toml_string(d) + ",\n";
  t += "]\n";
  t += "network_cmd_path = " + toml_string(helpers_dir + "/slirp4netns") + "\n";
  return t;
}

bool is_netd_dropin(std::string_view content) { return content.starts_with(kDropinMarker); }

std::optional<std::string> dropin_dir(Scope scope, const char* xdg_config_home, const char* home) {
  constexpr const char* kSub = "/containers/containers.conf.d";
  if (scope == Scope::System) return std::string("/etc") + kSub;
  if (xdg_config_home && xdg_config_home[0] == '/') return std::string(xdg_config_home) + kSub;
  if (home && home[0] == '/') {
    std::string h = home;
    while (h.size() > 1 && h.back() == '/') h.pop_back();
    if (h == "/") h.clear();
    return h + "/.config" + kSub;
  }
  return std::nullopt;
}

std::optional<Version> parse_podman_version(std::string_view out) {
  constexpr std::string_view kPrefix = "podman version ";
  if (!out.starts_with(kPrefix)) return std::nullopt;
  std::string_view rest = out.substr(kPrefix.size());
  rest = rest.substr(0, rest.find_first_of(" \t\r\n"));
  if (rest.empty()) return std::nullopt;
  Version v;
  v.text = std::string(rest);
  int* parts[] = {&v.major, &v.minor, &v.patch};
  const char* p = rest.data();
  const char* end = rest.data() + rest.size();
  for (size_t i = 0; i < 3; ++i) {
    auto r = std::from_chars(p, end, *parts[i]);
    if (r.ec != std::errc()) {
      if (i == 0) return std::nullopt;  // "podman version x": not a version
      break;
    }
    p = r.ptr;
    if (p == end || *p != '.') break;
    ++p;
  }
  return v;
}

std::optional<InfoFacts> parse_podman_info(std::string_view json) {
  auto j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  auto host = j.find("host");
  if (host == j.end() || !host->is_object()) return std::nullopt;
  // Reads host[a][b] when every step is an object and the leaf a string.
  auto str = [&](const char* a, const char* b) -> std::string {
    auto x = host->find(a);
    if (x == host->end()) return {};
    if (!b) return x->is_string() ? x->get<std::string>() : std::string();
    if (!x->is_object()) return {};
    auto y = x->find(b);
    return y != x->end() && y->is_string() ? y->get<std::string>() : std::string();
  };
  InfoFacts f;
  f.rootless_network_cmd = str("rootlessNetworkCmd", nullptr);
  f.slirp4netns_executable = str("slirp4netns", "executable");
  f.pasta_executable = str("pasta", "executable");
  auto sec = host->find("security");
  if (sec != host->end() && sec->is_object()) {
    auto r = sec->find("rootless");
    f.rootless = r != sec->end() && r->is_boolean() && r->get<bool>();
  }
  return f;
}

std::string rootless_network_mode(const Version& v, const InfoFacts& info) {
  if (!info.rootless_network_cmd.empty()) return info.rootless_network_cmd;
  return v.major >= 5 ? "pasta" : "slirp4netns";
}

}  // namespace netd::podman
