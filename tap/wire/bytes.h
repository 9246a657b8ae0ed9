// Byte-order helpers: the only place in tap/wire that turns packet bytes into
// integers and back.
//
// Theory of operation: every view validates its buffer once in parse() and
// afterwards reads fields through these helpers at named offsets. Loads and
// stores are big-endian (network order) and assemble values byte by byte, so
// there is no alignment requirement, no type punning and no packed struct.
// The bounds are the caller's contract (established by parse(), or by a
// writer that checked the output size); debug builds assert it.
#pragma once

#include <cassert>
#include <cstring>
#include <cstddef>
#include <cstdint>
#include <span>

namespace netd::wire {

// Reads the byte at `off`. Requires off < b.size().
inline uint8_t load_u8(std::span<const std::byte> b, size_t off) {
  assert(off < b.size());
  return static_cast<uint8_t>(b[off]);
}

// Reads a big-endian 16-bit value at `off`. Requires off + 2 <= b.size().
inline uint16_t load_be16(std::span<const std::byte> b, size_t off) {
  assert(off + 2 <= b.size());
  return static_cast<uint16_t>((static_cast<unsigned>(b[off]) << 8) |
                               static_cast<unsigned>(b[off + 1]));
}

// Reads a big-endian 32-bit value at `off`. Requires off + 4 <= b.size().
inline uint32_t load_be32(std::span<const std::byte> b, size_t off) {
  assert(off + 4 <= b.size());
  return (static_cast<uint32_t>(b[off]) << 24) | (static_cast<uint32_t>(b[off + 1]) << 16) |
         (static_cast<uint32_t>(b[off + 2]) << 8) | static_cast<uint32_t>(b[off + 3]);
}

// Writes one byte at `off`. Requires off < b.size().
inline void store_u8(std::span<std::byte> b, size_t off, uint8_t v) {
  assert(off < b.size());
  b[off] = static_cast<std::byte>(v);
}

// Writes `v` big-endian at `off`. Requires off + 2 <= b.size().
inline void store_be16(std::span<std::byte> b, size_t off, uint16_t v) {
  assert(off + 2 <= b.size());
  b[off] = static_cast<std::byte>(v >> 8);
  b[off + 1] = static_cast<std::byte>(v & 0xff);
}

// Writes `v` big-endian at `off`. Requires off + 4 <= b.size().
inline void store_be32(std::span<std::byte> b, size_t off, uint32_t v) {
  assert(off + 4 <= b.size());
  b[off] = static_cast<std::byte>(v >> 24);
  b[off + 1] = static_cast<std::byte>((v >> 16) & 0xff);
  b[off + 2] = static_cast<std::byte>((v >> 8) & 0xff);
  b[off + 3] = static_cast<std::byte>(v & 0xff);
}

// Copies `src` into `dst` at `off`. Requires off + src.size() <= dst.size().
inline void store_bytes(std::span<std::byte> dst, size_t off, std::span<const std::byte> src) {
  assert(off + src.size() <= dst.size());
  if (!src.empty()) std::memcpy(dst.data() + off, src.data(), src.size());
}

}  // namespace netd::wire
