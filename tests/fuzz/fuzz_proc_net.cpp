// Fuzz target: the /proc/net/{tcp,udp}[6] parser (portfwd/port_holder.h).
// Any text, read as either family, must give sockets whose fields are what
// holders_of can use, never a crash or an out-of-bounds read.
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "portfwd/port_holder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace netd::portfwd;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (int family : {AF_INET, AF_INET6}) {
    auto v = parse_proc_net(in, family);
    // An IPv4 file yields IPv4 addresses (an IPv6 file may hold v4-mapped
    // ones, which net::IpAddr takes as IPv4).
    for (const auto& s : v)
      if (family == AF_INET && !s.local.is_v4()) std::abort();
    (void)holders_of(v, netd::net::IpAddr{}, 80, Proto::Tcp);
  }
  return 0;
}
