// Fuzz target: the control API's request parser and completeness check. Any
// bytes must give a typed request or a "bad request: ..." message, never a
// crash, an exception or an out-of-bounds read; a complete request must stay
// complete.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "portfwd/api_request.h"
#include "portfwd/forward_registry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace netd::portfwd;
  static const ApiDefaults defaults{};
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)classify_request(in);
  auto r = parse_api_request(in, defaults);
  if (!r) {
    if (r.error().rfind("bad request: ", 0) != 0) std::abort();
    (void)error_reply(r.error());
    return 0;
  }
  if (auto* add = std::get_if<Forward>(&*r)) {
    if (add->host_port == 0 || add->guest_port == 0) std::abort();
    ForwardRegistry reg;
    auto f = reg.prepare(*add);
    if (!f || f->id != 1) std::abort();
    reg.commit(*f);
    (void)reg.list_reply();
  }
  return 0;
}
