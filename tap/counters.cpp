#include "tap/counters.h"

#include <nlohmann/json.hpp>

namespace netd::tap {

void Counters::count_wire_error(wire::WireError e) {
  switch (e) {
    case wire::WireError::BadChecksum: ++drop_bad_checksum; break;
    case wire::WireError::Unsupported: ++drop_unsupported; break;
    default: ++drop_malformed; break;
  }
}

Counters& Counters::operator+=(const Counters& o) {
#define NETD_ADD_UP(name) name += o.name;
  NETD_TAP_COUNTERS(NETD_ADD_UP)
#undef NETD_ADD_UP
  return *this;
}

std::string Counters::to_json() const {
  // In declaration order (ordered_json), as the log line and get_counters always showed them.
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
#define NETD_ADD_COUNTER(name) j[#name] = name;
  NETD_TAP_COUNTERS(NETD_ADD_COUNTER)
#undef NETD_ADD_COUNTER
  return j.dump();
}

}  // namespace netd::tap
