// Parsing upstream server addresses and /etc/resolv.conf (see upstream.h).
// The address part is checked by common/net's parsers; a zone is kept as
// text and must look like an interface name or index.
#include <net/if.h>

#include <cctype>

#include "common/net/ip.h"
#include "common/parse_number.h"
#include "dns/upstream.h"

namespace netd::dns {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool valid_v4(std::string_view a) { return net::Ipv4Addr::parse(a).has_value(); }

// "addr" or "addr%zone".
bool valid_v6(std::string_view a) {
  auto pct = a.find('%');
  std::string_view addr = a.substr(0, pct);
  if (pct != std::string_view::npos) {
    std::string_view zone = a.substr(pct + 1);
    if (zone.empty() || zone.size() >= IFNAMSIZ) return false;
    for (char c : zone)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' && c != '@')
        return false;
  }
  return net::Ipv6Addr::parse(addr).has_value();
}

bool parse_port(std::string_view p, uint16_t* out) {
  auto v = parse_decimal<uint16_t>(p, 1, 65535);
  if (!v) return false;
  *out = *v;
  return true;
}

}  // namespace

Expected<UpstreamServer, std::string> parse_upstream(std::string_view in) {
  std::string_view s = trim(in);
  auto bad = [&](const char* why) {
    return unexpected("bad upstream server '" + std::string(s) + "': " + why);
  };
  if (s.empty()) return bad("empty");
  UpstreamServer u;
  if (s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos) return bad("missing ']'");
    std::string_view addr = s.substr(1, close - 1);
    if (!valid_v6(addr)) return bad("not an IPv6 address");
    std::string_view rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':' || !parse_port(rest.substr(1), &u.port)) return bad("bad port");
    }
    u.addr = std::string(addr);
    return u;
  }
  size_t colons = 0;
  for (char c : s) colons += c == ':';
  if (colons == 0) {
    if (!valid_v4(s)) return bad("not an IPv4 or IPv6 address");
    u.addr = std::string(s);
    return u;
  }
  if (colons == 1) {
    auto c = s.find(':');
    if (!valid_v4(s.substr(0, c))) return bad("not an IPv4 address (write IPv6 with a port as [addr]:port)");
    if (!parse_port(s.substr(c + 1), &u.port)) return bad("bad port");
    u.addr = std::string(s.substr(0, c));
    return u;
  }
  if (!valid_v6(s)) return bad("not an IPv6 address");
  u.addr = std::string(s);
  return u;
}

std::string to_string(const UpstreamServer& s) {
  if (s.addr.find(':') != std::string::npos) return "[" + s.addr + "]:" + std::to_string(s.port);
  return s.addr + ":" + std::to_string(s.port);
}

std::vector<UpstreamServer> parse_resolv_conf(std::string_view text) {
  std::vector<UpstreamServer> out;
  while (!text.empty() && out.size() < 3) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    auto hash = line.find_first_of("#;");
    if (hash != std::string_view::npos) line = line.substr(0, hash);
    line = trim(line);
    constexpr std::string_view kw = "nameserver";
    if (line.size() <= kw.size() || line.substr(0, kw.size()) != kw) continue;
    if (!std::isspace(static_cast<unsigned char>(line[kw.size()]))) continue;
    std::string_view rest = trim(line.substr(kw.size()));
    // One address per line; anything after it is ignored (glibc does the same).
    auto sp = rest.find_first_of(" \t");
    if (sp != std::string_view::npos) rest = rest.substr(0, sp);
    auto u = parse_upstream(rest);
    if (u) out.push_back(std::move(*u));
  }
  return out;
}

}  // namespace netd::dns
