// Fuzz target: the -p port spec parser. Any input must either parse into a
// spec whose canonical text parses back to the same spec, or give a message;
// never crash or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "portfwd/port_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace netd::portfwd;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = parse_port_spec(in);
  if (!r) {
    if (r.error().empty()) std::abort();
    return 0;
  }
  auto again = parse_port_spec(r->to_string());
  if (!again || again->to_string() != r->to_string()) std::abort();
  if (r->host_last - r->host_first != r->ctr_last - r->ctr_first) std::abort();
  return 0;
}
