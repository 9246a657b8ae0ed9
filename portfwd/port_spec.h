// Port specs: `[HOSTIP:]HOSTPORT[-END]:CPORT[-END][/tcp|udp]`, as given to
// `-p` (netd forward, netd attach).
//
// Theory of operation: parse_port_spec() turns one spec into a PortSpec (a
// host address, a host port range, an equally long container port range and
// a protocol) or a one-line message naming what is wrong. IPv6 host
// addresses go in brackets (`[::1]:8080:80`). Defaults: host address 0.0.0.0,
// protocol tcp. expand() lists the single-port forwards of a spec. Nothing
// here does I/O except unprivileged_port_start(), which reads the sysctl.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.h"
#include "common/net/ip.h"
#include "portfwd/forward.h"

namespace netd::portfwd {

struct PortSpec {
  net::IpAddr host_addr = net::Ipv4Addr{};  // 0.0.0.0 unless given
  uint16_t host_first = 0, host_last = 0;
  uint16_t ctr_first = 0, ctr_last = 0;
  Proto proto = Proto::Tcp;
  std::string to_string() const;  // canonical text, e.g. "[::1]:8080-8081:80-81/udp"
};

// Parses one spec. Returns a message such as "port 70000 out of range 1-65535".
Expected<PortSpec, std::string> parse_port_spec(std::string_view spec);
// The single-port forwards of a spec (guest_addr left at 0.0.0.0, id 0).
std::vector<Forward> expand(const PortSpec& spec);
// Parses and expands every -p argument. The error names the argument:
// "-p SPEC: why".
Expected<std::vector<Forward>, std::string> parse_port_specs(const std::vector<std::string>& specs);

// The value of net.ipv4.ip_unprivileged_port_start (1024 when unreadable).
int unprivileged_port_start();
// The message for a failed bind() of addr:port/proto with errno `err`. When
// err is EACCES and port < unpriv_start, it names the sysctl to change.
std::string bind_error_message(const net::IpAddr& addr, uint16_t port, Proto proto, int err,
                               int unpriv_start);

}  // namespace netd::portfwd
