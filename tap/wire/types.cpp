// Text forms of the wire types and the error names. See types.h.
#include "tap/wire/types.h"

#include <cstdio>

#include "tap/wire/bytes.h"

namespace netd::wire {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
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
