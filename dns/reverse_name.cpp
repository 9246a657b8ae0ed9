// Reverse-lookup names. See reverse_name.h.
#include "dns/reverse_name.h"

#include <array>

namespace netd::dns {

namespace {

constexpr std::string_view kV4Suffix = ".in-addr.arpa";
constexpr std::string_view kV6Suffix = ".ip6.arpa";
constexpr char kHex[] = "0123456789abcdef";

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() > suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// "d.c.b.a" -> a.b.c.d: the labels reversed and read as a dotted quad, so
// the octet rules are ip.h's (decimal, no leading zeros, 0..255).
std::optional<net::IpAddr> v4_from_labels(std::string_view n) {
  std::array<std::string_view, 4> labels;
  for (size_t i = 0; i < labels.size(); ++i) {
    size_t dot = n.find('.');
    if ((i < 3) != (dot != std::string_view::npos)) return std::nullopt;
    labels[i] = n.substr(0, dot);
    n = dot == std::string_view::npos ? std::string_view{} : n.substr(dot + 1);
  }
  std::string quad;
  for (size_t i = labels.size(); i-- > 0;) {
    quad += labels[i];
    if (i > 0) quad += '.';
  }
  auto a = net::Ipv4Addr::parse(quad);
  if (!a) return std::nullopt;
  return net::IpAddr(*a);
}

// 32 "x." labels, lowest nibble first.
std::optional<net::IpAddr> v6_from_nibbles(std::string_view n) {
  if (n.size() != 63) return std::nullopt;
  net::Ipv6Addr a;
  for (size_t i = 0; i < 32; ++i) {
    if (i < 31 && n[2 * i + 1] != '.') return std::nullopt;
    const char c = n[2 * i];
    const int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (v < 0) return std::nullopt;
    uint8_t& byte = a.b[15 - i / 2];
    byte = static_cast<uint8_t>(byte | (i % 2 == 0 ? v : v << 4));
  }
  return net::IpAddr(a);
}

}  // namespace

std::string reverse_name(const net::IpAddr& a) {
  std::string out;
  if (a.is_v4()) {
    auto o = a.v4().octets();
    for (size_t i = o.size(); i-- > 0;) out += std::to_string(o[i]) + ".";
    return out + "in-addr.arpa";
  }
  for (size_t i = 16; i-- > 0;) {
    out += kHex[a.b[i] & 0xF];
    out += '.';
    out += kHex[a.b[i] >> 4];
    out += '.';
  }
  return out + "ip6.arpa";
}

std::optional<net::IpAddr> from_reverse_name(std::string_view n) {
  if (ends_with(n, kV4Suffix)) return v4_from_labels(n.substr(0, n.size() - kV4Suffix.size()));
  if (ends_with(n, kV6Suffix)) return v6_from_nibbles(n.substr(0, n.size() - kV6Suffix.size()));
  return std::nullopt;
}

}  // namespace netd::dns
