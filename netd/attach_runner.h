// The start-up sequence shared by `netd attach` and `netd slirp4netns`:
// configuration in, a running attach engine out.
//
// Theory of operation: both command lines fill one AttachConfig; run_attach()
// does everything that can fail first (CIDR, DNS upstreams, the tap, the
// data plane, the published ports, the API socket), starts the helper that
// follows resolv.conf (when the upstreams came from it), writes the pid file,
// enters the sandbox while still single-threaded (common/sandbox.h; a helper
// outside it removes the pid file and API socket at exit), starts the
// threads, writes the ready byte, and runs the data plane on the
// calling thread until SIGTERM/SIGINT, the target's exit, or the exit fd's
// hang-up. The process keeps its pid for its whole life (slirp4netns clients
// wait on it).
//
// Threads: the data plane (this thread, which also carries the API's
// forwards: netd/stack_backend.h, and watches the exit fd on its loop), the
// API server (Asio, with --api-socket), and whatever an AttachExtension
// starts (netd pasta: the port scan and pesto). All start after
// Dataplane::create() blocked the stop signals, so only the data plane's
// signalfd sees them, and after the sandbox, so they inherit it.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/expected.h"
#include "common/netns.h"
#include "dns/upstream.h"
#include "portfwd/control_queue.h"
#include "tap/stack_config.h"
#include "tap/tap_device.h"

namespace netd {

namespace tap {
class Dataplane;
}

// What a caller of run_attach adds to the engine (netd pasta: its port rules
// and configuration socket). Made once the data plane exists, still
// single-threaded and before the sandbox, so it can fork and open files;
// start() runs after the sandbox, where it may start threads. Work for the
// data plane goes through the control queue it is given (drained on the
// loop thread). Destroyed after the loop ends.
class AttachExtension {
 public:
  virtual ~AttachExtension() = default;
  virtual Expected<void, std::string> start() { return {}; }
};
using AttachExtend = std::function<Expected<std::unique_ptr<AttachExtension>, std::string>(
    tap::Dataplane&, const tap::StackConfig&, portfwd::ControlQueue&)>;

struct AttachConfig {
  std::string prog = "netd attach";  // prefix of start-up error messages
  NsTarget target;
  std::string tap_name = "tap0";
  bool configure = false;
  unsigned mtu = 65520;
  std::string cidr = "10.0.2.0/24";
  bool ipv6 = true;                        // netd slirp4netns: only with --enable-ipv6
  std::string cidr6 = "fd00::/64";
  std::vector<std::string> dns_search;     // DHCPv6 search list
  bool disable_host_loopback = false;
  std::vector<std::string> dns_upstreams;  // empty: resolv_conf's name servers
  bool disable_dns = false;
  // Where the host's name servers are read (--resolv-conf, $NETD_RESOLV_CONF,
  // /etc/resolv.conf). When the upstreams come from it (dns_upstreams empty,
  // or dns_upstreams_from_resolv_conf), its changes are followed while
  // netd runs (common/file_follow.h).
  std::string resolv_conf = dns::resolv_conf_path();
  bool dns_upstreams_from_resolv_conf = false;  // netd pasta: its plan copied them from resolv_conf
  std::string outbound_addr;   // --outbound-addr: IPv4 address or interface name (netd/outbound_addr.h)
  std::string outbound_addr6;  // --outbound-addr6: IPv6 address or interface name
  // --map-guest-addr (slirp layout; netd pasta sets its aliases in `stack`):
  // guest traffic to it goes to the host's own address of its family, which
  // is followed while netd runs (tap/stack_config.h, host_own).
  std::optional<net::Ipv4Addr> map_guest_addr4;
  std::optional<net::Ipv6Addr> map_guest_addr6;
  std::string mac;
  int ready_fd = -1;
  std::string pid_file;
  std::string pcap;
  bool no_offload = false;   // tap without virtio-net offloads
  unsigned queues = 1;       // tap queues (IFF_MULTI_QUEUE above 1): tap/queue_worker.h
  std::vector<std::string> publish;  // -p specs: host ports carried into the guest
  std::string api_socket;            // serve the control API here
  bool sandbox = false;      // common/sandbox.h: empty root, no capabilities
  bool seccomp = false;      // common/seccomp_filter.h: the system call allow-list
  // netd pasta: the stack's layout and the tap's set-up, decided by the
  // caller (netd/pasta_plan.h). Unset: derived from cidr/cidr6 (slirp layout)
  // and tap_name/configure/mtu/mac.
  std::optional<tap::StackConfig> stack;
  std::optional<tap::TapOptions> tap;
  bool watch_target = true;          // exit when the target process or netns file goes away
  std::function<void()> on_ready;    // runs right after the ready byte (pasta detaches here)
  AttachExtend extend;               // optional (above)
  // slirp4netns extras.
  int exit_fd = -1;          // hang-up: exit 0 (and remove the API socket)
  int arg_error_status = 2;  // exit status for bad configuration (slirp4netns: 1)
};

// Runs the engine; returns the process exit status.
int run_attach(const AttachConfig& cfg);

// `netd slirp4netns` command line -> what to do (exposed for unit tests).
struct Slirp4netnsCommand {
  enum class Action { Run, Help, Version, Error } action = Action::Run;
  AttachConfig cfg;
  std::string error;                  // Action::Error: one line, without the usage
  std::vector<std::string> warnings;  // options accepted but not honoured
};
Slirp4netnsCommand parse_slirp4netns_args(int argc, char** argv);
// The text of `slirp4netns --help` and `slirp4netns -v`.
std::string slirp4netns_usage(const char* argv0);
std::string slirp4netns_version();

}  // namespace netd
