// Text forms of the wire types and the error names. See types.h.
#include "tap/wire/types.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstdio>
#include <cstring>

#include "tap/wire/bytes.h"

namespace netd::wire {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Parses one decimal octet "0".."255" without sign or leading zeros.
std::optional<uint8_t> parse_octet(std::string_view s) {
  if (s.empty() || s.size() > 3) return std::nullopt;
  if (s.size() > 1 && s[0] == '0') return std::nullopt;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > 255) return std::nullopt;
  return static_cast<uint8_t>(v);
}

// "addr/n" with n a decimal 0..max_prefix without leading zeros; nullopt otherwise.
template <class Cidr, class Addr>
std::optional<Cidr> parse_cidr(std::string_view s, unsigned max_prefix) {
  size_t slash = s.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto addr = Addr::parse(s.substr(0, slash));
  if (!addr) return std::nullopt;
  std::string_view p = s.substr(slash + 1);
  if (p.empty() || p.size() > 3 || (p.size() > 1 && p[0] == '0')) return std::nullopt;
  unsigned prefix = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
  if (ec != std::errc{} || end != p.data() + p.size() || prefix > max_prefix) return std::nullopt;
  return Cidr{*addr, static_cast<uint8_t>(prefix)};
}

}  // namespace

std::optional<MacAddr> MacAddr::parse(std::string_view s) {
  // 6 pairs of hex digits and 5 separators.
  if (s.size() != 17) return std::nullopt;
  MacAddr m;
  for (size_t i = 0; i < 6; ++i) {
    size_t p = i * 3;
    if (i > 0 && s[p - 1] != ':') return std::nullopt;
    int hi = hex_digit(s[p]);
    int lo = hex_digit(s[p + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    m.b[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return m;
}

std::string MacAddr::to_string() const {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4],
                b[5]);
  return buf;
}

MacAddr load_mac(std::span<const std::byte> bytes, size_t off) {
  MacAddr m;
  for (size_t i = 0; i < 6; ++i) m.b[i] = load_u8(bytes, off + i);
  return m;
}

void store_mac(std::span<std::byte> bytes, size_t off, const MacAddr& m) {
  for (size_t i = 0; i < 6; ++i) store_u8(bytes, off + i, m.b[i]);
}

std::optional<Ipv4Addr> Ipv4Addr::parse(std::string_view s) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    size_t dot = s.find('.');
    if ((i < 3) != (dot != std::string_view::npos)) return std::nullopt;
    auto octet = parse_octet(s.substr(0, dot));
    if (!octet) return std::nullopt;
    v = (v << 8) | *octet;
    s = dot == std::string_view::npos ? std::string_view{} : s.substr(dot + 1);
  }
  return Ipv4Addr{v};
}

std::string Ipv4Addr::to_string() const {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", (v >> 24) & 0xff, (v >> 16) & 0xff,
                (v >> 8) & 0xff, v & 0xff);
  return buf;
}

std::optional<Ipv4Cidr> Ipv4Cidr::parse(std::string_view s) { return parse_cidr<Ipv4Cidr, Ipv4Addr>(s, 32); }

std::string Ipv4Cidr::to_string() const { return addr.to_string() + "/" + std::to_string(prefix); }

std::optional<Ipv6Addr> Ipv6Addr::parse(std::string_view s) {
  // inet_pton implements RFC 4291 2.2 exactly; it needs a terminated string.
  if (s.empty() || s.size() >= INET6_ADDRSTRLEN) return std::nullopt;
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

Ipv6Addr load_ipv6(std::span<const std::byte> bytes, size_t off) {
  Ipv6Addr a;
  for (size_t i = 0; i < 16; ++i) a.b[i] = load_u8(bytes, off + i);
  return a;
}

void store_ipv6(std::span<std::byte> bytes, size_t off, const Ipv6Addr& a) {
  for (size_t i = 0; i < 16; ++i) store_u8(bytes, off + i, a.b[i]);
}

const char* to_string(WireError e) {
  switch (e) {
    case WireError::Truncated: return "truncated";
    case WireError::BadVersion: return "bad version";
    case WireError::BadHeaderLength: return "bad header length";
    case WireError::BadTotalLength: return "bad total length";
    case WireError::BadChecksum: return "bad checksum";
    case WireError::BadLength: return "bad length";
    case WireError::Unsupported: return "unsupported";
    case WireError::Malformed: return "malformed";
  }
  return "unknown";
}

}  // namespace netd::wire
