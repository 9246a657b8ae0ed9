// aardvark-dns' configuration directory (docs/man/netd-dns.1.md, FILES), as netavark writes it.
//
// Theory of operation: one file per network, named after the network
// (`NAME%int` marks an internal network); `aardvark.pid` and dot files are
// skipped. Lines are split on '\n', empty lines skipped, fields on single
// spaces (so an empty column is two spaces in a row):
//   line 1:  gw_ip[,gw_ip...][ upstream[,upstream...]]
//   others:  ctr_id v4[,v4...] v6[,v6...] name[,alias...][ upstream[,...]]
// A malformed container line is skipped with a warning and the rest of the
// file still counts; a file whose first line is malformed contributes nothing
// (warning). Names are lowercased here (lookups are case-insensitive). Nothing
// here throws or aborts on bad input; the parser is a fuzz target.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/expected.h"
#include "common/net/ip.h"
#include "dns/upstream.h"

namespace netd::dns {

struct ContainerEntry {
  std::string id;
  std::vector<net::IpAddr> v4, v6;
  std::vector<std::string> names;            // lowercase: name first, then aliases
  std::vector<UpstreamServer> upstreams;     // per-container servers (may be empty)
};

struct NetworkConfig {
  std::string name;                          // file name without "%int"
  bool internal = false;
  std::vector<net::IpAddr> listen;                // gateway addresses to serve on
  std::vector<UpstreamServer> upstreams;     // network-wide servers (may be empty)
  std::vector<ContainerEntry> containers;
};

// ASCII letters lowercased (DNS names compare case-insensitively).
std::string lower_ascii(std::string_view s);

// Parses one network file. `file_name` gives the network name and the %int
// flag. Warnings (one line each) are appended to `warnings`.
Expected<NetworkConfig, std::string> parse_network_file(std::string_view file_name,
                                                        std::string_view text,
                                                        std::vector<std::string>& warnings);

// Reads every network file in `dir`. Fails only if the directory cannot be read.
Expected<std::vector<NetworkConfig>, std::string> load_config_dir(const std::string& dir,
                                                                  std::vector<std::string>& warnings);

}  // namespace netd::dns
