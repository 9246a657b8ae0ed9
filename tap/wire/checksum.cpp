// Internet checksum accumulation. See checksum.h.
#include "tap/wire/checksum.h"

#include <bit>
#include <cstring>

#include "tap/wire/bytes.h"

namespace netd::wire {

void Checksum::add(std::span<const std::byte> data) {
  size_t i = 0;
  const size_t n = data.size();
  if (n == 0) return;
  if (odd_) {
    // This byte completes the word whose high half the previous piece ended with.
    sum_ += load_u8(data, 0);
    odd_ = false;
    i = 1;
  }
  // The bulk: 64-bit loads in native byte order. The one's complement sum
  // commutes with byte swapping (RFC 1071 2.B), so we sum native words,
  // fold, and swap the folded 16 bits once at the end. Each step adds two
  // 32-bit halves (< 2^33); 64 KiB is 8192 steps, far from overflowing.
  const std::byte* p = data.data() + i;
  size_t len = n - i;
  uint64_t acc = 0;
  for (; len >= 8; p += 8, len -= 8, i += 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    acc += (w & 0xffffffffu) + (w >> 32);
  }
  for (; len >= 2; p += 2, len -= 2, i += 2) {
    uint16_t w;
    std::memcpy(&w, p, 2);
    acc += w;
  }
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  uint16_t folded = static_cast<uint16_t>(acc);
  if constexpr (std::endian::native == std::endian::little) {
    folded = static_cast<uint16_t>((folded >> 8) | (folded << 8));
  }
  sum_ += folded;
  if (i < n) {
    // A lone trailing byte is the high half of a word padded with zero.
    sum_ += uint32_t{load_u8(data, i)} << 8;
    odd_ = true;
  }
}

uint16_t Checksum::finish() const {
  uint64_t s = sum_;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(~s & 0xffff);
}

uint32_t ipv4_pseudo_header_sum(Ipv4Addr src, Ipv4Addr dst, IpProto p, uint16_t l4_len) {
  // At most six 16-bit words: the sum fits easily in 32 bits.
  return (src.v >> 16) + (src.v & 0xffff) + (dst.v >> 16) + (dst.v & 0xffff) +
         static_cast<uint32_t>(p) + l4_len;
}

Checksum ipv4_pseudo_header(Ipv4Addr src, Ipv4Addr dst, IpProto p, uint16_t l4_len) {
  Checksum c;
  c.add32(ipv4_pseudo_header_sum(src, dst, p, l4_len));
  return c;
}

Checksum ipv6_pseudo_header(const Ipv6Addr& src, const Ipv6Addr& dst, IpProto p, uint32_t l4_len) {
  Checksum c;
  c.add(std::as_bytes(std::span(src.b)));
  c.add(std::as_bytes(std::span(dst.b)));
  c.add32(l4_len);
  c.add16(static_cast<uint16_t>(p));
  return c;
}

Checksum ip_pseudo_header(const IpAddr& src, const IpAddr& dst, IpProto p, uint32_t l4_len) {
  if (src.is_v4()) return ipv4_pseudo_header(src.v4(), dst.v4(), p, static_cast<uint16_t>(l4_len));
  return ipv6_pseudo_header(src.v6(), dst.v6(), p, l4_len);
}

uint16_t internet_checksum(std::span<const std::byte> data) {
  Checksum c;
  c.add(data);
  return c.finish();
}

}  // namespace netd::wire
