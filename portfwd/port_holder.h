// Port handover: binding a published port that an older netd still holds,
// and naming the process that holds it.
//
// Theory of operation: a container restarted with published ports gets a
// new netd while the old one may still be shutting down, so the new one's
// bind can fail with EADDRINUSE for a moment. open_host_socket_waiting()
// retries such a bind with a bounded back-off (50 ms, doubling, at most
// 500 ms apart, for at most `max_wait`); any other error, or success, ends
// the wait at once. TCP listeners already set SO_REUSEADDR
// (portfwd/host_socket.h), so connections the old netd leaves in TIME_WAIT
// never block; SO_REUSEPORT is not used: it would let a process of the same
// user share the port with netd instead of failing. If the port is still in
// use when the wait ends, the error names who holds it: the socket bound to
// that address and port (TCP: listening) is found in /proc/net/{tcp,udp}[6]
// by its inode, and the inode among the fds of the processes in /proc that
// netd may read (its own user's). /proc is the kernel's text, parsed with
// the fixed layout below; a line that does not fit is skipped.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.h"
#include "common/net/ip.h"
#include "common/unique_fd.h"
#include "portfwd/port_spec.h"

namespace netd::portfwd {

// One line of /proc/net/tcp, tcp6, udp or udp6.
struct ProcNetSocket {
  net::IpAddr local;
  uint16_t port = 0;
  uint8_t state = 0;   // TCP_LISTEN (10) for a listener; UDP sockets show 7
  uid_t uid = 0;
  uint64_t inode = 0;
};
// The sockets of such a file's text; `family` says which (AF_INET for tcp
// and udp, AF_INET6 for tcp6 and udp6). The header and bad lines are skipped.
std::vector<ProcNetSocket> parse_proc_net(std::string_view text, int family);

// Inodes of the sockets in `sockets` that hold addr:port for `proto` (TCP:
// listeners only): bound to that address or to the wildcard, or, for a
// wildcard `addr`, to any address.
std::vector<uint64_t> holders_of(const std::vector<ProcNetSocket>& sockets, const net::IpAddr& addr, uint16_t port,
                                 Proto proto);

// "pid 1234 (netd)", "pids 12 (a), 34 (b)", or, when no readable process
// has it open, "a socket of uid 1000 whose process cannot be seen here";
// "" when no socket holds the port (any more).
std::string describe_port_holder(const net::IpAddr& addr, uint16_t port, Proto proto);

// open_host_socket (blocking: io_uring accepts), waiting up to `max_wait`
// while the bind fails with EADDRINUSE. `on_wait` runs once, when the first
// attempt found the port in use, with the holder's description.
Expected<UniqueFd, std::string> open_host_socket_waiting(
    const net::IpAddr& addr, uint16_t port, Proto proto, std::chrono::milliseconds max_wait,
    const std::function<void(const std::string& holder)>& on_wait = {});

}  // namespace netd::portfwd
