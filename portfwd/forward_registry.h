// ForwardRegistry: the host forwards the control API knows about, with ids,
// and ForwardBackend: whatever actually carries them (the in-stack engine of
// `netd attach`, or portfwd::Forwarder).
//
// Theory of operation: the registry lives on the control thread and is never
// shared. An add is prepared (duplicate check, next id: ids start at 1 and are
// never reused, not even after a failed add; from then on the add is pending),
// its host socket is opened by the backend on the control thread (open(),
// which may find the port still held by an older netd: the API server then
// retries on its timers, portfwd/port_holder.h), the socket is handed to the
// backend on the backend's own thread through its ControlQueue (add()), and
// the entry is committed when the backend says yes, or abandoned. A pending
// add counts as a duplicate too. A backend sees only Forward values and
// sockets; it never sees JSON.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/expected.h"
#include "common/unique_fd.h"
#include "portfwd/api_request.h"
#include "portfwd/control_queue.h"

namespace netd::portfwd {

// Implemented by a data plane. Every method except open() and queue() is
// called on the backend's own thread: from a closure posted to queue(), which
// the backend's loop drains (poll queue().eventfd() on its ring, call drain()).
class ForwardBackend {
 public:
  virtual ~ForwardBackend() = default;
  // Checks `f` and binds its host socket (for TCP: listening), on the
  // caller's thread (the API server's, never the data plane's: a port in
  // use is retried there). A failure is a one-line message for the API
  // client (e.g. bind_error_message()); errno is then EADDRINUSE if and
  // only if the port is in use (the caller clears errno first).
  virtual Expected<UniqueFd, std::string> open(const Forward& f) = 0;
  // Starts forwarding `f` on `socket` (from open()). A failure is a one-line
  // message for the API client.
  virtual Expected<void, std::string> add(const Forward& f, UniqueFd socket) = 0;
  virtual Expected<void, std::string> remove(uint64_t id) = 0;
  // JSON array of live flows / JSON object of counters, for list_flows and get_counters.
  virtual std::string flows_json() { return "[]"; }
  virtual std::string counters_json() { return "{}"; }
  // Thread-safe; where the API server posts work for this backend.
  virtual ControlQueue& queue() = 0;
};

class ForwardRegistry {
 public:
  // A Forward with the next id, pending from now on, or "bad request: ..."
  // when an entry or a pending add with the same protocol, host address and
  // port exists.
  Expected<Forward, std::string> prepare(const Forward& req);
  // The pending add `f` succeeded: an entry now.
  void commit(const Forward& f);
  // The pending add with this id failed: forgotten (its id stays spent).
  void abandon(uint64_t id);
  bool contains(uint64_t id) const;
  void erase(uint64_t id);
  const std::vector<Forward>& entries() const { return entries_; }
  // {"return":{"entries":[{"id":..,"proto":..,"host_addr":..,"host_port":..,
  //   "guest_addr":..,"guest_port":..},...]}} — slirp4netns' list_hostfwd reply.
  std::string list_reply() const;

 private:
  std::vector<Forward> entries_;
  std::vector<Forward> pending_;
  uint64_t next_id_ = 1;
};

}  // namespace netd::portfwd
