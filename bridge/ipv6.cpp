#include "bridge/ipv6.h"

#include <arpa/inet.h>

#include "bridge/ipv4.h"  // split_cidr

namespace netd::bridge {

Ipv6 Ipv6Cidr::network() const {
  Ipv6 n = addr;
  for (int i = 0; i < 16; ++i) {
    int bits = prefix - i * 8;
    if (bits >= 8) continue;
    n.b[i] = bits <= 0 ? 0 : static_cast<uint8_t>(n.b[i] & (0xff << (8 - bits)));
  }
  return n;
}

bool Ipv6Cidr::contains(const Ipv6& a) const { return Ipv6Cidr{a, prefix}.network() == network(); }

bool Ipv6Cidr::overlaps(const Ipv6Cidr& o) const {
  int p = prefix < o.prefix ? prefix : o.prefix;
  return Ipv6Cidr{addr, p}.contains(o.addr);
}

Ipv6 Ipv6Cidr::host(uint32_t n) const {
  Ipv6 a = network();
  uint64_t carry = n;
  for (int i = 15; i >= 0 && carry; --i) {
    carry += a.b[i];
    a.b[i] = static_cast<uint8_t>(carry & 0xff);
    carry >>= 8;
  }
  return a;
}

std::optional<Ipv6> parse_ipv6(std::string_view s) {
  if (s.empty() || s.size() > 45) return std::nullopt;
  std::string buf(s);
  Ipv6 a;
  if (::inet_pton(AF_INET6, buf.c_str(), a.b.data()) != 1) return std::nullopt;
  return a;
}

std::optional<Ipv6Cidr> parse_cidr6(std::string_view s) {
  auto parts = split_cidr(s, 128);
  if (!parts) return std::nullopt;
  auto addr = parse_ipv6(parts->first);
  if (!addr) return std::nullopt;
  return Ipv6Cidr{*addr, parts->second};
}

std::string to_string(const Ipv6& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET6, a.b.data(), buf, sizeof buf);
  return buf;
}

std::string to_string(const Ipv6Cidr& c) { return to_string(c.addr) + "/" + std::to_string(c.prefix); }

}  // namespace netd::bridge
