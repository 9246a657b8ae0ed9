// The TCP option walker. See tcp.h.
#include "tap/wire/tcp.h"

namespace netd::wire {

TcpOptions parse_tcp_options(std::span<const std::byte> area) {
  TcpOptions o;
  size_t i = 0;
  while (i < area.size()) {
    uint8_t kind = load_u8(area, i);
    if (kind == kTcpOptEol) break;
    if (kind == kTcpOptNop) {
      ++i;
      continue;
    }
    // Every other option is kind, length (counting both), value.
    if (i + 2 > area.size()) break;
    size_t len = load_u8(area, i + 1);
    if (len < 2 || len > area.size() - i) break;
    std::span<const std::byte> v = area.subspan(i + 2, len - 2);
    switch (kind) {
      case kTcpOptMss:
        if (v.size() == 2) o.mss = load_be16(v, 0);
        break;
      case kTcpOptWindowScale:
        if (v.size() == 1) o.window_scale = load_u8(v, 0);
        break;
      case kTcpOptSackPermitted:
        if (v.empty()) o.sack_permitted = true;
        break;
      case kTcpOptTimestamps:
        if (v.size() == 8) o.timestamps = std::pair{load_be32(v, 0), load_be32(v, 4)};
        break;
      default:
        break;  // SACK blocks, MD5, fast open...: not used by netd
    }
    i += len;
  }
  return o;
}

}  // namespace netd::wire
