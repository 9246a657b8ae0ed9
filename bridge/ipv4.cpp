#include "bridge/ipv4.h"

#include <arpa/inet.h>

#include <charconv>

namespace netd::bridge {

bool Ipv4Cidr::overlaps(const Ipv4Cidr& o) const {
  int p = prefix < o.prefix ? prefix : o.prefix;
  Ipv4Cidr wider{addr, p};
  return wider.contains(o.addr);
}

std::optional<Ipv4> parse_ipv4(std::string_view s) {
  if (s.empty() || s.size() > 15) return std::nullopt;
  std::string buf(s);
  in_addr a{};
  if (::inet_pton(AF_INET, buf.c_str(), &a) != 1) return std::nullopt;
  return Ipv4{ntohl(a.s_addr)};
}

std::optional<std::pair<std::string_view, int>> split_cidr(std::string_view s, int max_prefix) {
  auto slash = s.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::string_view len = s.substr(slash + 1);
  if (len.empty() || len.size() > 3) return std::nullopt;
  int prefix = -1;
  auto [ptr, ec] = std::from_chars(len.data(), len.data() + len.size(), prefix);
  if (ec != std::errc() || ptr != len.data() + len.size() || prefix < 0 || prefix > max_prefix)
    return std::nullopt;
  return std::pair{s.substr(0, slash), prefix};
}

std::optional<Ipv4Cidr> parse_cidr(std::string_view s) {
  auto parts = split_cidr(s, 32);
  if (!parts) return std::nullopt;
  auto addr = parse_ipv4(parts->first);
  if (!addr) return std::nullopt;
  return Ipv4Cidr{*addr, parts->second};
}

std::string to_string(Ipv4 a) {
  in_addr n{htonl(a.v)};
  char buf[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &n, buf, sizeof buf);
  return buf;
}

std::string to_string(const Ipv4Cidr& c) { return to_string(c.addr) + "/" + std::to_string(c.prefix); }

}  // namespace netd::bridge
