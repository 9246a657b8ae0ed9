// Forward: one host port forwarded to one guest port, the single value every
// front end and back end of port forwarding speaks.
//
// Theory of operation: `-p` specs (netd forward, netd attach, bridge
// publish) expand into Forwards, an add_hostfwd API request parses into one,
// the registry hands one to a backend, and portfwd::Forwarder serves one per
// listening socket. The text and JSON forms stay where they are parsed
// (port_spec.h, api_request.h); this is only the value. A guest_addr left at
// 0.0.0.0 means "the receiving side's own guest": the -p specs do not name
// one, and each consumer fills in its default (the API's guest address, the
// namespace's address for netd forward). pasta's range rules (fwd_rule.h)
// are a different thing: a table entry covering many ports, with options.
#pragma once

#include <cstdint>

#include "common/net/ip.h"

namespace netd::portfwd {

enum class Proto : uint8_t { Tcp, Udp };
const char* proto_name(Proto p);  // "tcp" / "udp"

struct Forward {
  uint64_t id = 0;  // the registry's handle (1, 2, ...); 0 until registered
  Proto proto = Proto::Tcp;
  net::IpAddr host_addr = net::Ipv4Addr{};  // listening address; 0.0.0.0 unless given
  uint16_t host_port = 0;
  net::IpAddr guest_addr = net::Ipv4Addr{};  // where connections go; see above for 0.0.0.0
  uint16_t guest_port = 0;

  bool operator==(const Forward&) const = default;
};

}  // namespace netd::portfwd
