// The configuration socket of `netd pasta -c PATH`: the server side of the
// pesto protocol (portfwd/pesto_wire.h), so Podman's `pesto` (or `netd
// pesto`) can read and replace the forwarding tables while netd runs.
//
// Theory of operation: one thread of its own, serving one client at a time
// as pasta does (others wait in the listen backlog). For each client it
// sends the hello and the tables in force, then waits for the client's new
// tables. Everything a client does is bounded by one deadline (5 seconds by
// default) covering the whole exchange, and by the protocol's maximum
// message size: a client that stalls, sends garbage or too much is logged
// and disconnected, and nothing changes. A client that only looked (closed
// without sending) changes nothing either. A complete update becomes new
// tables (pesto::tables_from_update: pasta's checks, tables left out become
// empty) and is handed to the `apply` callback on this thread; only when it
// succeeds do the new tables become the ones in force (and announced to the
// next client). The client gets no answer either way, as with pasta.
//
// The socket is created with mode 0600; a stale socket at the path is
// replaced, a live one (a server answers) or a non-socket is an error. The
// thread starts with every signal blocked (the process's signal handling is
// not disturbed). stop() (or the destructor) ends the thread and removes the
// socket unless told not to.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/expected.h"
#include "common/unique_fd.h"
#include "portfwd/fwd_rule.h"

namespace netd {

// Carries new tables into the data plane; returns a message when they could
// not be applied (the old tables stay in force then). Called on the pesto
// server's thread, one call at a time.
using PestoApply = std::function<Expected<void, std::string>(const portfwd::FwdTables&)>;

struct PestoServerOptions {
  std::string path;  // -c PATH
  // Already bound and listening (PestoServer::bind, e.g. before a sandbox
  // hides the path); start() takes it over. -1: start() binds `path`.
  int listener = -1;
  // Unlink `path` when the server stops (false when something outside a
  // sandbox, common/exit_cleanup.h, removes it).
  bool remove_socket = true;
  portfwd::FwdTables tables;  // in force at start (from -t/-u/-T/-U)
  PestoApply apply;           // required
  // The most one client's whole exchange may take.
  std::chrono::milliseconds client_timeout{5000};
};

class PestoServer {
 public:
  // Creates the socket at `path` (mode 0600) and listens on it. The message
  // names the path and the reason, e.g. "cannot use configuration socket
  // /run/x.sock: it is in use by a running server".
  static Expected<UniqueFd, std::string> bind(const std::string& path);
  // Binds (unless opts.listener is given) and starts the thread.
  static Expected<std::unique_ptr<PestoServer>, std::string> start(PestoServerOptions opts);
  PestoServer(const PestoServer&) = delete;
  PestoServer& operator=(const PestoServer&) = delete;
  ~PestoServer();

  // The tables in force (a copy; safe from any thread).
  portfwd::FwdTables tables() const;
  // How many updates were applied / rejected so far (malformed, timed out,
  // refused by the checks or by `apply`); safe from any thread.
  uint64_t updates_applied() const;
  uint64_t updates_rejected() const;
  // Ends the thread (a client in the middle of an exchange is dropped) and
  // removes the socket if asked to. Idempotent; the destructor calls it.
  void stop();

 private:
  struct Impl;
  explicit PestoServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace netd
