// Connector: where a forwarder's connections and UDP flows are opened. The
// forwarder accepts on its listening sockets and asks its connector for the
// other side: NsConnector opens it inside a target network namespace (netd
// forward, slirp4netns's add_hostfwd); `netd pasta -T/-U` opens it in netd's
// own namespace, towards the host's loopback.
#pragma once

#include <cstdint>
#include <string>

#include "common/expected.h"
#include "common/net/ip.h"
#include "common/unique_fd.h"
#include "portfwd/forward.h"

namespace netd::portfwd {

class Connector {
 public:
  virtual ~Connector() = default;
  // A non-blocking socket of `proto` whose connect to addr:port has started
  // (TCP: EINPROGRESS is normal; the caller polls for POLLOUT and reads
  // SO_ERROR) or finished (UDP). Thread-safe. A one-line message on failure.
  virtual Expected<UniqueFd, std::string> connect(Proto proto, const net::IpAddr& addr, uint16_t port) = 0;
};

}  // namespace netd::portfwd
