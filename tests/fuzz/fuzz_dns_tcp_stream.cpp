// Fuzz target: dns/wire/query_check, the check on what the guest's DNS
// address carries upstream. The same bytes fed whole, split at every one of
// a few points, and byte by byte must get the same verdict (the TCP engine
// feeds segments of any size); an accepted stream's complete messages must
// each start with a standard-query header; is_plain_query runs on the bytes
// as one UDP message.
#include <cstddef>
#include <cstdint>
#include <span>

#include "dns/wire/query_check.h"

using namespace netd::dns::wire;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const std::byte> b(reinterpret_cast<const std::byte*>(data), size);
  (void)is_plain_query(b);

  TcpQueryStream whole;
  const bool ok = whole.feed(b);
  for (size_t cut : {size_t{1}, size / 3, size / 2, size - (size > 0)}) {
    if (cut > size) continue;
    TcpQueryStream split;
    bool a = split.feed(b.first(cut));
    bool c = split.feed(b.subspan(cut));
    if ((a && c) != ok) __builtin_trap();
  }
  if (size <= 4096) {
    TcpQueryStream bytewise;
    bool all = true;
    for (size_t i = 0; i < size; ++i) all = bytewise.feed(b.subspan(i, 1)) && all;
    if (all != ok || bytewise.at_boundary() != (ok && whole.at_boundary())) __builtin_trap();
  }
  if (ok) {  // walk the framing independently
    size_t pos = 0;
    while (pos + 2 <= size) {
      size_t len = (size_t{data[pos]} << 8) | data[pos + 1];
      if (len < kMinQuerySize) __builtin_trap();
      if (pos + 2 + kHeaderSize <= size && !is_standard_query(read_header(b.subspan(pos + 2)))) __builtin_trap();
      pos += 2 + len;
    }
  }
  return 0;
}
