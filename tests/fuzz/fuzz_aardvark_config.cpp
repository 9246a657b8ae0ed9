// Fuzz target: the aardvark-dns config file parser, name tables built from
// it, and the resolv.conf / upstream parsers, on arbitrary text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dns/aardvark_config.h"
#include "dns/names.h"
#include "dns/reverse_name.h"
#include "dns/upstream.h"

using namespace netd::dns;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> warnings;
  const char* name = (size > 0 && data[0] & 1) ? "net%int" : "net";
  if (auto n = parse_network_file(name, text, warnings)) {
    std::vector<NetworkConfig> nets{*n};
    NameTable t(std::move(nets));
    auto all = t.listen_addresses();
    if (!all.empty()) {
      auto scope = t.scope(all[0], all[0]);
      for (const auto& net : t.networks())
        for (const auto& c : net.containers) {
          for (const auto& nm : c.names) (void)t.lookup(scope, nm);
          for (const auto& a : c.v4) (void)t.reverse(scope, a);
          (void)t.upstreams_for(scope, c.v4.empty() ? all[0] : c.v4[0]);
        }
    }
  }
  (void)parse_resolv_conf(text);
  if (size < 128) {
    (void)parse_upstream(text);
    (void)from_reverse_name(text);
  }
  return 0;
}
