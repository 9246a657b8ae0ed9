// Fuzz target: the /proc/PID/status "Uid:" parser (portfwd/port_holder.h).
// Any text gives a uid or nothing, never a crash or an out-of-bounds read;
// text without "Uid:" gives nothing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "portfwd/port_holder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto uid = netd::portfwd::parse_status_uid(in);
  if (uid && in.find("Uid:") == std::string_view::npos) std::abort();
  return 0;
}
