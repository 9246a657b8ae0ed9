// Text forms of the address types. See ip.h.
#include "common/net/ip.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstring>

#include "common/parse_number.h"

namespace netd::net {

namespace {

// A decimal without leading zeros (so "08" and "010" are refused, not read
// as octal or padded), in 0..max.
std::optional<unsigned> parse_canonical_decimal(std::string_view s, unsigned max) {
  if (s.size() > 1 && s[0] == '0') return std::nullopt;
  return parse_decimal<unsigned>(s, 0, max);
}

// "addr/n" with n a decimal 0..max_prefix; nullopt otherwise.
template <class Cidr, class Addr>
std::optional<Cidr> parse_cidr(std::string_view s, unsigned max_prefix) {
  size_t slash = s.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto addr = Addr::parse(s.substr(0, slash));
  auto prefix = parse_canonical_decimal(s.substr(slash + 1), max_prefix);
  if (!addr || !prefix) return std::nullopt;
  return Cidr{*addr, static_cast<uint8_t>(*prefix)};
}

}  // namespace

std::optional<Ipv4Addr> Ipv4Addr::parse(std::string_view s) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    size_t dot = s.find('.');
    if ((i < 3) != (dot != std::string_view::npos)) return std::nullopt;
    auto octet = parse_canonical_decimal(s.substr(0, dot), 255);
    if (!octet) return std::nullopt;
    v = (v << 8) | *octet;
    s = dot == std::string_view::npos ? std::string_view{} : s.substr(dot + 1);
  }
  return Ipv4Addr{v};
}

std::string Ipv4Addr::to_string() const {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", (v >> 24) & 0xff, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
  return buf;
}

std::optional<Ipv4Cidr> Ipv4Cidr::parse(std::string_view s) { return parse_cidr<Ipv4Cidr, Ipv4Addr>(s, 32); }

std::string Ipv4Cidr::to_string() const { return addr.to_string() + "/" + std::to_string(prefix); }

std::optional<Ipv6Addr> Ipv6Addr::parse(std::string_view s) {
  // inet_pton implements RFC 4291 2.2 exactly; it needs a terminated string,
  // and would stop at an embedded NUL ("::1\0junk" is not an address).
  if (s.empty() || s.size() >= INET6_ADDRSTRLEN || s.find('\0') != std::string_view::npos) return std::nullopt;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  Ipv6Addr a;
  if (::inet_pton(AF_INET6, buf, a.b.data()) != 1) return std::nullopt;
  return a;
}

std::string Ipv6Addr::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  if (!::inet_ntop(AF_INET6, b.data(), buf, sizeof buf)) return "?";
  return buf;
}

std::optional<Ipv6Cidr> Ipv6Cidr::parse(std::string_view s) { return parse_cidr<Ipv6Cidr, Ipv6Addr>(s, 128); }

std::string Ipv6Cidr::to_string() const { return addr.to_string() + "/" + std::to_string(prefix); }

std::optional<IpAddr> IpAddr::parse(std::string_view s) {
  if (auto a = Ipv4Addr::parse(s)) return IpAddr(*a);
  if (auto a = Ipv6Addr::parse(s)) return IpAddr(*a);
  return std::nullopt;
}

}  // namespace netd::net
