// The control API server: JSON requests on a unix socket (slirp4netns'
// add_hostfwd/list_hostfwd/remove_hostfwd, netd's list_flows/get_counters).
//
// Theory of operation: Boost.Asio on a control thread of its own. The socket
// is created with mode 0600 (umask around bind) and removed when the server
// is destroyed. One request per connection: the server reads until the bytes
// form a whole JSON text, the client shuts down its write side, the size
// limit is passed, or 5 seconds go by; it answers with one JSON object and
// closes. Requests are parsed by portfwd::parse_api_request; the registry of
// forwards lives on the control thread. An add's host socket is bound there
// (ForwardBackend::open); a port in use (an older netd of a restarted
// container still holding it) is retried on the session's timer with the
// bounded back-off of portfwd/port_holder.h, so other requests are served
// meanwhile and the data plane never waits; when the wait ends, the error
// names the holder. Work for the data plane (the backend) is posted to the
// backend's ControlQueue and its answer is posted back to the control
// thread, so neither thread ever waits for the other.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/expected.h"
#include "common/unique_fd.h"
#include "portfwd/api_request.h"
#include "portfwd/forward_registry.h"
#include "portfwd/port_holder.h"

namespace netd {

struct ApiServerOptions {
  std::string path;
  // Already bound and listening (ApiServer::bind, before the sandbox hides
  // the path); start() takes it over. -1: start() binds `path` itself.
  int listener = -1;
  // Unlink `path` when the server stops (false when common/exit_cleanup.h
  // does it from outside the sandbox).
  bool remove_socket = true;
  portfwd::ApiDefaults defaults;
  // Carries the forwards; null: add/remove/list_flows/get_counters answer
  // with an error. Must outlive the server.
  portfwd::ForwardBackend* backend = nullptr;
  // How long an add waits for a host port in use.
  std::chrono::milliseconds handover_wait = portfwd::kPortHandoverWait;
};

class ApiServer {
 public:
  // Binds the socket and starts the control thread. Returns a one-line
  // message when the path cannot be used.
  static Expected<std::unique_ptr<ApiServer>, std::string> start(ApiServerOptions opts);
  // Creates the socket at `path` (mode 0600, replacing a stale socket) and
  // listens on it. Returns a one-line message when the path cannot be used.
  static Expected<UniqueFd, std::string> bind(const std::string& path);
  // Stops the thread (requests in flight are dropped) and removes the socket.
  // Stop the backend's thread first: a closure it ran afterwards would post
  // its answer to this server's (destroyed) executor.
  ~ApiServer();

 private:
  struct Impl;
  explicit ApiServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace netd
