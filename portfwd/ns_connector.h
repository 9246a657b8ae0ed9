// NsConnector: sockets connected *inside* a target network namespace, for a
// process that never enters it.
//
// Theory of operation: start() uses run_in_netns() (common/netns.h): its
// child, already in the target's user and network namespaces, forks a helper
// that stays there and returns one end of a SOCK_SEQPACKET pair. The helper
// closes every other inherited fd and serves requests on its end: each
// request names a protocol, an address and a port; the helper creates a
// non-blocking socket, starts connect() and hands the socket back over
// SCM_RIGHTS (or a message when socket/connect failed at once). It never
// waits for a TCP handshake, so a request costs a round trip of a few
// microseconds and the caller may run it synchronously on its loop: the
// caller polls the TCP socket for POLLOUT and reads SO_ERROR. When the
// forwarder closes its end (exit or crash), the helper reads EOF and exits.
// Sockets keep the namespace they were created in, so the connection runs
// inside the namespace (the target sees a local client address).
//
// Why not setns() per connection: an unprivileged netd may not setns into
// the target from the initial user namespace, and threads cannot change user
// namespace; a long-lived helper costs one process and no fork per connection.
#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>

#include "common/expected.h"
#include "common/net/ip.h"
#include "common/netns.h"
#include "common/unique_fd.h"
#include "portfwd/connector.h"
#include "portfwd/port_spec.h"

namespace netd::portfwd {

class NsConnector final : public Connector {
 public:
  // Starts the helper in `target`. Call before other threads exist (it forks).
  // Returns a message naming the namespace when the helper cannot start.
  static Expected<std::unique_ptr<NsConnector>, std::string> start(const NsTarget& target);
  ~NsConnector() override = default;

  // A socket of `proto` whose connect to addr:port inside the namespace has
  // started (TCP, non-blocking: EINPROGRESS is normal) or finished (UDP).
  // Thread-safe. Returns a one-line message on failure.
  Expected<UniqueFd, std::string> connect(Proto proto, const net::IpAddr& addr, uint16_t port) override;

 private:
  explicit NsConnector(UniqueFd chan) : chan_(std::move(chan)) {}
  std::mutex mu_;
  UniqueFd chan_;
};

}  // namespace netd::portfwd
