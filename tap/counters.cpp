#include "tap/counters.h"

namespace netd::tap {

void Counters::count_wire_error(wire::WireError e) {
  switch (e) {
    case wire::WireError::BadChecksum: ++drop_bad_checksum; break;
    case wire::WireError::Unsupported: ++drop_unsupported; break;
    default: ++drop_malformed; break;
  }
}

std::string Counters::to_json() const {
  std::string out = "{";
#define NETD_APPEND_COUNTER(name) \
  out += "\"" #name "\":" + std::to_string(name) + ",";
  NETD_TAP_COUNTERS(NETD_APPEND_COUNTER)
#undef NETD_APPEND_COUNTER
  out.back() = '}';
  return out;
}

}  // namespace netd::tap
