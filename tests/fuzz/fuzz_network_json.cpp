// Fuzz target: the network JSON parser (bridge/network_config.h) and the
// network state parser. Whatever parses must serialize and parse back equal.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "bridge/network_config.h"
#include "bridge/network_state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto n = netd::bridge::parse_network(text);
  if (n) {
    auto again = netd::bridge::parse_network(netd::bridge::serialize_network(*n));
    if (!again || !(*again == *n)) std::abort();
    (void)netd::bridge::first_ipv4(*n);
  }
  auto s = netd::bridge::parse_state(text);
  if (s) {
    auto again = netd::bridge::parse_state(netd::bridge::serialize_state(*s));
    if (!again || !(*again == *s)) std::abort();
  }
  return 0;
}
