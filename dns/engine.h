// The query engine: what to do with one DNS query. No I/O.
//
// Theory of operation: on_query takes the raw query, who sent it (source
// address), where it arrived (listen address), UDP or TCP, the current name
// table and `now`, and decides:
//   Reply    bytes to send back (local names, NXDOMAIN, cache hits, errors);
//   Forward  send the raw query to `upstreams` (then call on_upstream_reply
//            with the answer, or answer SERVFAIL on failure);
//   Drop     not a query we answer (unparseable header, a response).
// Order: parse (FORMERR/NOTIMP as needed) -> scope = networks of the source
// (else of the listener) -> strip the search domain -> local A/AAAA/PTR ->
// NXDOMAIN under the search domain or for internal-only sources -> cache ->
// forward (container, network, then default upstreams; none: SERVFAIL).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/net/ip.h"
#include "common/time.h"
#include "dns/cache.h"
#include "dns/names.h"
#include "dns/upstream.h"

namespace netd::dns {

struct EngineOptions {
  std::string search_domain = "dns.podman";   // without dots at either end; "" disables
  uint32_t ttl = 0;                           // TTL of local answers
  std::vector<UpstreamServer> default_upstreams;
  bool cache = true;
};

struct QueryInfo {
  net::IpAddr source;
  net::IpAddr listen;
  bool tcp = false;
};

struct Decision {
  enum class Kind { Reply, Forward, Drop };
  Kind kind = Kind::Drop;
  std::vector<std::byte> reply;              // Kind::Reply
  std::vector<UpstreamServer> upstreams;     // Kind::Forward
  std::string cache_key;                     // Kind::Forward: pass to on_upstream_reply
  const char* why = "";                      // short trace reason
};

struct EngineStats {
  uint64_t queries = 0, local = 0, nxdomain = 0, forwarded = 0, cache_hits = 0, dropped = 0,
           errors = 0;
};

class Engine {
 public:
  explicit Engine(EngineOptions o);

  Decision on_query(Time now, const NameTable& table, const QueryInfo& info,
                    std::span<const std::byte> query);
  // An upstream answer for a query forwarded with `cache_key`.
  void on_upstream_reply(Time now, const std::string& cache_key, std::span<const std::byte> reply);

  void set_default_upstreams(std::vector<UpstreamServer> u) { opts_.default_upstreams = std::move(u); }
  const EngineOptions& options() const { return opts_; }
  const EngineStats& stats() const { return stats_; }
  Cache& cache() { return cache_; }

  // "name" with the search domain stripped, or nullopt if it is not under it.
  // `lower` is lowercase without the trailing dot. Exposed for tests.
  std::optional<std::string> strip_search(const std::string& lower) const;

 private:
  Decision reply(std::vector<std::byte> b, const char* why);
  EngineOptions opts_;
  Cache cache_;
  EngineStats stats_;
};

// "dns.podman", ".dns.podman", "dns.podman." -> "dns.podman" (lowercase).
std::string normalize_domain(std::string_view d);

}  // namespace netd::dns
