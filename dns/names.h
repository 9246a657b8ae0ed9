// NameTable: an immutable snapshot of every network's names, built from the
// parsed configuration and swapped whole on reload (readers hold a
// shared_ptr, so a query in flight keeps the table it started with).
//
// Theory of operation: each network keeps a map lowercase name -> containers
// and address -> container. A query is answered only from the networks the
// *querying container* is on: its source address names a container (by its
// id; the same id on several networks is one container, as in aardvark-dns),
// and every network of that container is searched, whichever of its
// addresses the query came from. A source that is no container (the host)
// searches the networks served on the listening address.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/net/ip.h"
#include "dns/aardvark_config.h"

namespace netd::dns {

class NameTable {
 public:
  explicit NameTable(std::vector<NetworkConfig> nets);

  using NetSet = std::vector<uint32_t>;   // indices into networks()
  const std::vector<NetworkConfig>& networks() const { return nets_; }

  // The networks of the container that owns `source`; if none, those served on `listen`.
  NetSet scope(const net::IpAddr& source, const net::IpAddr& listen) const;
  // True if `source` is a known container on at least one network.
  bool is_container(const net::IpAddr& source) const;

  struct Addresses {
    bool found = false;                // the name exists on one of the networks
    std::vector<net::IpAddr> v4, v6;        // de-duplicated, in config order
  };
  Addresses lookup(const NetSet& nets, std::string_view lower_name) const;
  // Names (first name, then aliases) of the containers holding `addr`.
  std::vector<std::string> reverse(const NetSet& nets, const net::IpAddr& addr) const;

  // Upstreams for a query from `source` within `nets`: the container's own,
  // else the first network's with servers; empty means "use the defaults".
  std::vector<UpstreamServer> upstreams_for(const NetSet& nets, const net::IpAddr& source) const;
  // True when every network in `nets` is internal (no forwarding at all).
  bool all_internal(const NetSet& nets) const;

  // Every address to listen on (de-duplicated).
  std::vector<net::IpAddr> listen_addresses() const;

 private:
  struct Ref {
    uint32_t net;
    uint32_t ctr;
  };
  std::vector<NetworkConfig> nets_;
  std::vector<std::unordered_map<std::string, std::vector<uint32_t>>> by_name_;   // per network
  std::unordered_map<net::IpAddr, std::vector<Ref>> by_addr_;
  std::unordered_map<net::IpAddr, NetSet> by_listen_;
  std::unordered_map<std::string, NetSet> by_id_;   // container id -> its networks
};

}  // namespace netd::dns
