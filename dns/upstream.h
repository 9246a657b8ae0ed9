// Upstream DNS forwarding with c-ares: raw queries in, raw replies out.
//
// Theory of operation: a Forwarder owns two c-ares channels with the same
// server list — one for UDP (ARES_FLAG_IGNTC: a truncated UDP answer is handed
// back as it is, so the client retries over TCP itself) and one for TCP
// (ARES_FLAG_USEVC) for queries that reached us over TCP. c-ares never blocks
// and never owns a loop: it reports the sockets it wants watched through
// ARES_OPT_SOCK_STATE_CB, which we pass on to the caller's SocketWatcher; the
// caller's event loop calls process() when a socket is ready and on_timer()
// at next_deadline(). ares_send() puts its own random id on the wire; the
// reply is returned with the client's original id restored.
//
// Exactly-once: every forward() creates one Query record that c-ares carries
// as callback data. The user callback runs the first time one of these
// happens: c-ares answers or fails, our own deadline passes (on_timer), or the
// Forwarder is destroyed (ares_destroy fails every query with
// ARES_EDESTRUCTION). The record is freed only by c-ares' callback, which
// c-ares guarantees to call exactly once per ares_send.
//
// Bounded time: c-ares tries each server with `timeout` and backs off after a
// full round, so a black-holed upstream could stall a client for
// timeout*tries*servers and more. We cap every query at timeout*tries
// (1.4 s with the defaults) and answer ARES_ETIMEOUT then; a refused port
// (ICMP unreachable) fails over to the next server at once.
//
// Changing servers (set_servers, e.g. resolv.conf rewritten): c-ares 1.18
// refuses a new server list while a channel has queries in flight, and a
// query must not be dropped for it. So the Forwarder holds a *current*
// channel pair, which takes every new query, and earlier pairs that are
// retiring: each keeps its sockets and servers until the last query it
// carries has its answer (or its deadline), and is destroyed after that, in
// process()/on_timer(), never from inside a c-ares callback.
//
// IPv6 servers with a %zone (link-local, as NetworkManager writes them into
// resolv.conf) work although c-ares 1.18 has no scope ids: the server goes to
// c-ares without the zone and our connect() hook (ares_set_socket_functions)
// adds the interface index. A zone naming no interface skips that server.
//
// Not thread-safe: one loop thread calls everything. Callbacks must not
// destroy the Forwarder. The SocketWatcher must outlive the Forwarder (the
// destructor tells it to forget the sockets).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.h"
#include "common/time.h"

namespace netd::dns {

struct UpstreamServer {
  std::string addr;     // IPv4 or IPv6 literal; IPv6 may carry "%zone"
  uint16_t port = 53;
  bool operator==(const UpstreamServer&) const = default;
};

// "1.2.3.4", "1.2.3.4:5353", "::1", "[::1]:5353", "fe80::1%eth0",
// "[fe80::1%eth0]:53". Surrounding blanks are ignored. Returns an error text
// on anything else (names, bad ports, zones on IPv4, ...).
Expected<UpstreamServer, std::string> parse_upstream(std::string_view s);

// The text form parse_upstream accepts: "1.2.3.4:53", "[::1]:53".
std::string to_string(const UpstreamServer& s);

// /etc/resolv.conf text: the first 3 valid `nameserver` lines. Comments (# ;),
// options/search/domain lines, IPv6 with %zone, and garbage lines are skipped,
// never a crash.
std::vector<UpstreamServer> parse_resolv_conf(std::string_view text);

// Where netd reads the host's name servers: $NETD_RESOLV_CONF when set and
// not empty (tests, hosts that keep it elsewhere), else /etc/resolv.conf.
std::string resolv_conf_path();

// The event loop that owns c-ares' sockets implements this.
class SocketWatcher {
 public:
  virtual ~SocketWatcher() = default;
  // Start/stop watching fd. readable=false && writable=false means: forget fd.
  virtual void watch(int fd, bool readable, bool writable) = 0;
};

class Forwarder {   // one server list; raw queries in, raw replies out
 public:
  struct Options {
    std::vector<UpstreamServer> servers;
    std::chrono::milliseconds timeout{700};   // per attempt
    int tries = 2;                            // total bound: timeout * tries
    // Source addresses of the upstream sockets ("": the kernel's choice),
    // e.g. slirp4netns' --outbound-addr. Must be addresses of this host.
    std::string source4, source6;
  };
  // Errors: no (usable) servers, c-ares initialisation failures.
  static Expected<std::unique_ptr<Forwarder>, std::string> create(Options, SocketWatcher&);

  // Reply: the upstream's raw answer with the *original* query id restored,
  // or an error (ARES_* status, e.g. ARES_ETIMEOUT, ARES_ESERVFAIL,
  // ARES_ECONNREFUSED, ARES_EDESTRUCTION).
  using Callback = std::function<void(Expected<std::vector<std::byte>, int>)>;
  // query: a complete DNS message as the client sent it (12..65535 bytes;
  // otherwise cb gets ARES_EBADQUERY before forward returns). tcp=true
  // forwards over TCP; UDP answers with TC set are passed back as they are.
  // c-ares may also fail a query synchronously (cb runs before forward returns).
  void forward(std::span<const std::byte> query, bool tcp, Callback cb);
  void process(int fd, bool readable, bool writable);   // the loop saw activity on fd
  std::optional<Time> next_deadline(Time now) const;    // when to call on_timer
  void on_timer();                                      // process timeouts
  size_t pending() const;                               // queries whose callback has not run
  // From now on, new queries go to `servers`; queries in flight finish with
  // the servers they were sent to (see above). Errors as create()'s; on an
  // error nothing changes.
  Expected<void, std::string> set_servers(std::vector<UpstreamServer> servers);
  size_t retiring() const;   // earlier server lists still carrying queries
  // The same for the sockets' source addresses (Options::source4/6: an
  // --outbound-addr interface got a new address).
  Expected<void, std::string> set_sources(std::string source4, std::string source6);
  const Options& options() const;

  ~Forwarder();   // fails pending queries (callbacks get an error, exactly once)
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  struct Impl;

 private:
  explicit Forwarder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Human text for an ARES_* status.
std::string ares_status_text(int status);

}  // namespace netd::dns
