// Which ports something listens on inside a network namespace, for pasta's
// 'auto' port rules (-t auto: forward a host port only while the namespace
// listens on it).
//
// Theory of operation: open() has a child that joined the namespace open
// /proc/self/net/{tcp,tcp6,udp,udp6} and pass the fds back; a proc net file
// keeps the namespace it was opened in, so netd re-reads them from outside
// (seek to 0, read to EOF) as often as it likes. parse_bound_ports() takes
// the text the kernel writes there: one socket per line, the local address
// as HEXADDR:HEXPORT in the second column and the state in the fourth; TCP
// sockets count in state 0A (LISTEN), UDP sockets in state 07 (bound,
// unconnected). Lines that do not parse are skipped.
#pragma once

#include <array>
#include <set>
#include <string_view>

#include "common/expected.h"
#include "common/netns.h"
#include "common/unique_fd.h"
#include "netd/pasta_ports.h"

namespace netd {

// The local ports of the lines of /proc/net/{tcp,udp}[6] in `state` (hex, e.g. 0x0A).
std::set<uint16_t> parse_bound_ports(std::string_view text, unsigned state);

class NsPortScanner {
 public:
  static Expected<NsPortScanner, std::string> open(const NsTarget& target);
  // Reads the four files now. A file that cannot be read counts as empty.
  BoundPorts scan() const;

 private:
  std::array<UniqueFd, 4> fds_;  // tcp, tcp6, udp, udp6
};

}  // namespace netd
