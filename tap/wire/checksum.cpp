// Internet checksum accumulation. See checksum.h.
#include "tap/wire/checksum.h"

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
  // Whole 32-bit words: each is two 16-bit words of the sum at once.
  for (; i + 4 <= n; i += 4) {
    uint32_t w = load_be32(data, i);
    sum_ += (w >> 16) + (w & 0xffff);
  }
  for (; i + 2 <= n; i += 2) sum_ += load_be16(data, i);
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

uint16_t internet_checksum(std::span<const std::byte> data) {
  Checksum c;
  c.add(data);
  return c.finish();
}

}  // namespace netd::wire
