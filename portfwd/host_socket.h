// The host side of a published port: a socket bound to HOSTIP:HOSTPORT,
// listening for TCP. Shared by `netd forward` and `netd attach -p`, so both
// report a refused bind the same way (naming ip_unprivileged_port_start).
#pragma once

#include <cstdint>
#include <string>

#include "common/expected.h"
#include "common/net/ip.h"
#include "common/unique_fd.h"
#include "portfwd/port_spec.h"

namespace netd::portfwd {

// Creates, binds and (for TCP) listens. IPv6 sockets are IPv6-only, so
// "[::]:P" and "0.0.0.0:P" can be published side by side. `nonblocking`
// sets SOCK_NONBLOCK (poll-driven users); io_uring accept wants it off.
// `unpriv_start` (net.ipv4.ip_unprivileged_port_start) explains a refused
// bind; callers inside the sandbox, where /proc cannot be read, pass the
// value they read before. Returns the socket or a one-line message; after
// a failed bind, errno is the bind's error (portfwd/port_holder.h waits
// out EADDRINUSE).
Expected<UniqueFd, std::string> open_host_socket(const net::IpAddr& addr, uint16_t port, Proto proto,
                                                 bool nonblocking, int unpriv_start = unprivileged_port_start());

}  // namespace netd::portfwd
