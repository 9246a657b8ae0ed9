// The DNS server: UDP and TCP listeners per address on one Asio io_context,
// answering through the Engine and forwarding through ForwarderDrivers.
//
// Theory of operation: apply(table) is both start-up and reload. It closes
// listeners whose address left the table, opens listeners for new addresses
// (UDP socket + TCP acceptor on addr:port), keeps the rest untouched (their
// sockets and whatever sits in their kernel queues), then swaps the table
// pointer. Everything runs on the loop thread, so the swap is atomic with
// respect to queries: each query is answered entirely with the table current
// when it arrived (forwarded answers need no table).
//
// UDP: wait for readability, then drain up to 64 datagrams non-blocking,
// 32 per recvmmsg, and send the replies known at once (local names, cache
// hits, errors) with one sendmmsg per batch; forwarded answers leave one by
// one as they come. TCP:
// one session per connection, queries (2-byte length prefix) read back to
// back and answered as they complete (pipelining, up to 16 open per
// connection); the connection closes when idle for `tcp_idle` (also in the
// middle of a partial query, so a truncated query costs a timer, never a
// spin), on a zero-length query, or after EOF once every reply is written.
// Forwarded queries go to a ForwarderDriver per distinct upstream list;
// failures are answered SERVFAIL.
#pragma once

#include <utility>   // before Asio (Boost 1.74 + C++20)

#include <boost/asio.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dns/asio_watcher.h"
#include "dns/engine.h"
#include "dns/names.h"

namespace netd::dns {

struct ServerOptions {
  uint16_t port = 53;
  EngineOptions engine;
  std::chrono::milliseconds upstream_timeout{700};
  int upstream_tries = 2;
  Duration tcp_idle = std::chrono::seconds(5);
  size_t max_tcp_sessions = 256;   // per listener
  // Forward TCP queries to the *default* upstreams over UDP: for a default
  // upstream that speaks only UDP (the rootless netns' outward engine's DNS
  // forwarder). A truncated answer then reaches the TCP client as it is.
  bool default_upstreams_udp_only = false;
};

class Server {
 public:
  Server(boost::asio::io_context& io, ServerOptions o);
  ~Server();

  // Installs `table` and makes the listeners match its addresses. Returns one
  // message per address that could not be bound (the others still serve).
  std::vector<std::string> apply(std::shared_ptr<const NameTable> table);
  size_t listener_count() const { return listeners_.size(); }
  Engine& engine() { return engine_; }
  // Drops forwarders whose upstream list is no longer used (after a reload).
  void set_default_upstreams(std::vector<UpstreamServer> u);

  struct Listener;
  struct TcpSession;

  // Used by listeners and sessions: answer `query` and call `send` with the
  // reply (now, or later for forwarded queries). `send` is not called for dropped queries.
  void handle(const net::IpAddr& source, const net::IpAddr& listen, bool tcp, std::span<const std::byte> query,
              std::function<void(std::vector<std::byte>)> send);
  // handle() in two steps, for a caller that sends immediate replies in
  // batches: the engine's decision, then (Forward only) the forwarding.
  Decision decide(const net::IpAddr& source, const net::IpAddr& listen, bool tcp, std::span<const std::byte> query);
  void forward(Decision d, bool tcp, std::span<const std::byte> query,
               std::function<void(std::vector<std::byte>)> send);
  const ServerOptions& options() const { return opts_; }

 private:
  ForwarderDriver* driver_for(const std::vector<UpstreamServer>& ups);
  boost::asio::io_context& io_;
  ServerOptions opts_;
  Engine engine_;
  std::shared_ptr<const NameTable> table_;
  std::map<std::string, std::shared_ptr<Listener>> listeners_;   // by address text
  std::map<std::string, std::unique_ptr<ForwarderDriver>> drivers_;   // destroyed first
};

}  // namespace netd::dns
