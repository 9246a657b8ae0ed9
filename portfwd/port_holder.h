// Port handover: binding a published port that an older netd still holds,
// and naming the process that holds it.
//
// Theory of operation: a container restarted with published ports gets a
// new netd while the old one may still be shutting down, so the new one's
// bind can fail with EADDRINUSE for a moment. Such a bind is retried with a
// bounded back-off (HandoverBackoff: 25 ms, doubling, at most 200 ms apart,
// for at most `max_wait`, kPortHandoverWait everywhere netd binds a
// published port); any other error, or success, ends the wait at once.
// open_host_socket_waiting() waits by sleeping: for a thread that may block
// (start-up, before the data plane runs). A thread that must not block (the
// API server's) retries on its own timers with the same HandoverBackoff and
// the same messages (port_wait_note, port_in_use_error). TCP listeners
// already set SO_REUSEADDR (portfwd/host_socket.h), so connections the old
// netd leaves in TIME_WAIT never block, nor does a listener the old netd
// has shut down while its ring still holds it (tap/published_ports.h).
// SO_REUSEPORT is not used: it would let a process of the same user share
// the port with netd instead of failing. (UDP sockets have no such option:
// a UDP port frees only when the old netd's socket is closed.) If the port is still in
// use when the wait ends, the error names who holds it: the socket bound to
// that address and port (TCP: listening) is found in /proc/net/{tcp,udp}[6]
// by its inode, and the inode among the fds of the processes in /proc that
// netd may read (its own user's). /proc is the kernel's text, parsed with
// the fixed layout below; a line that does not fit is skipped.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
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

// The real uid of a /proc/PID/status text (its "Uid:" line's first
// number); nullopt when the text has no such line.
std::optional<uid_t> parse_status_uid(std::string_view status);

// Inodes of the sockets in `sockets` that hold addr:port for `proto` (TCP:
// listeners only): bound to that address or to the wildcard, or, for a
// wildcard `addr`, to any address.
std::vector<uint64_t> holders_of(const std::vector<ProcNetSocket>& sockets, const net::IpAddr& addr, uint16_t port,
                                 Proto proto);

// "pid 1234 (netd)", "pids 12 (a), 34 (b)", or, when no readable process
// has it open, "a socket of uid 1000 whose process cannot be seen here",
// naming up to three processes of that uid whose fds netd may not read
// ("(perhaps pid 77 (pasta), whose fds netd may not read)": a sandboxed
// netd is not dumpable, so even its own user cannot look into it);
// "a process netd cannot look up from its sandbox (`ss -tlnp 'sport = :80'`
// names it)" when the sockets cannot be read (no /proc in netd's sandbox:
// a port added through the API after start-up); "" when no socket holds
// the port (any more).
std::string describe_port_holder(const net::IpAddr& addr, uint16_t port, Proto proto);

// How long a published port in use (EADDRINUSE) is waited for.
inline constexpr std::chrono::milliseconds kPortHandoverWait{5000};

// The schedule of one wait: next() gives the pause before the next attempt
// (25 ms, doubling up to 200 ms, cut at the end of the wait), or nullopt
// once `max_wait` has passed since construction.
class HandoverBackoff {
 public:
  using Clock = std::chrono::steady_clock;
  explicit HandoverBackoff(std::chrono::milliseconds max_wait, Clock::time_point now = Clock::now())
      : max_wait_(max_wait), end_(now + max_wait) {}
  std::optional<std::chrono::milliseconds> next(Clock::time_point now = Clock::now());
  std::chrono::milliseconds max_wait() const { return max_wait_; }
  // Time since construction.
  std::chrono::milliseconds waited(Clock::time_point now = Clock::now()) const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(now - (end_ - max_wait_));
  }

 private:
  std::chrono::milliseconds max_wait_;
  Clock::time_point end_;
  std::chrono::milliseconds pause_{25};
};

// The log line when a wait begins: "127.0.0.1:8080/tcp is in use by pid 12
// (netd); waiting up to 5000 ms for it" (`holder` from describe_port_holder).
std::string port_wait_note(const net::IpAddr& addr, uint16_t port, Proto proto, const std::string& holder,
                           std::chrono::milliseconds max_wait);
// The log line when the port was taken after a wait: "127.0.0.1:8080/tcp
// taken over after 120 ms".
std::string port_taken_note(const net::IpAddr& addr, uint16_t port, Proto proto, std::chrono::milliseconds waited);
// The error when the wait ended with the port still in use: the bind's
// message, who holds the port now, and how long netd waited.
std::string port_in_use_error(const std::string& bind_error, const net::IpAddr& addr, uint16_t port, Proto proto,
                              std::chrono::milliseconds waited);

// open_host_socket, waiting up to `max_wait` while the bind fails with
// EADDRINUSE (sleeping: the calling thread blocks). When the first attempt
// finds the port in use, port_wait_note is logged, and port_taken_note once
// the port is bound, both as warnings: a handover is worth a line even
// under pasta's --quiet. `nonblocking` and
// `unpriv_start` as for open_host_socket. errno after a failure: the last
// bind's.
Expected<UniqueFd, std::string> open_host_socket_waiting(const net::IpAddr& addr, uint16_t port, Proto proto,
                                                         std::chrono::milliseconds max_wait,
                                                         bool nonblocking = false,
                                                         int unpriv_start = unprivileged_port_start());

}  // namespace netd::portfwd
