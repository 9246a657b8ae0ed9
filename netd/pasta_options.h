// `netd pasta` (and argv[0] == "pasta"): pasta's command line, as parsed
// words, before anything is looked up on the host.
//
// Theory of operation: parse_pasta_args() runs glibc's getopt_long over argv
// with pasta's own option table and short-option string, so abbreviations
// (`--netn`), `--opt=V` and `--opt V`, clustered short options and the error
// wording ("unrecognized option '--x'") are the ones pasta users and
// Podman's retry logic see. Each option is checked for form here (addresses,
// numbers, names); what needs the host (the template interface, resolv.conf)
// is pasta_plan.h's job. Options only passt (not pasta) has are refused the
// way pasta refuses them; options netd does not implement are refused with
// a clear message, never silently ignored, except those that only tune
// pasta's own internals (listed in docs/compat-pasta.md).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/net/ip.h"
#include "tap/wire/types.h"

namespace netd {

struct PastaPortOption {
  char opt = 't';  // 't', 'u' (into the namespace), 'T', 'U' (out of it)
  std::string spec;
};

struct PastaOptions {
  enum class Action { Run, Help, Version, Error } action = Action::Run;
  std::string error;     // Action::Error: one line; `usage` says whether pasta prints its usage too
  bool usage = false;    // the error was a getopt one (unknown option, missing value): print usage

  // Logging and process.
  bool debug = false, trace = false, quiet = false, foreground = false;
  std::string log_file;
  std::string pid_file;
  std::string pcap;
  std::string control_socket;  // -c: pesto's configuration socket
  unsigned queues = 1;         // --queues (netd's own): tap queues, one thread each
  // Namespace.
  std::string netns;           // --netns PATH (a NAME means /run/netns/NAME)
  std::string userns;          // --userns PATH
  bool netns_only = false;
  bool no_netns_quit = false;
  std::vector<std::string> positional;  // PID, or COMMAND [ARGS]
  // Addressing.
  bool config_net = false;
  std::string ns_ifname;                 // -I
  std::optional<unsigned> mtu;           // -m (0: do not assign)
  std::optional<net::Ipv4Cidr> addr4;   // -a (prefix 0: from -n or the host)
  std::optional<net::Ipv6Cidr> addr6;
  std::optional<uint8_t> netmask4;       // -n
  std::optional<net::Ipv4Addr> gateway4;  // -g
  std::optional<net::Ipv6Addr> gateway6;
  std::optional<wire::MacAddr> our_mac;    // -M
  std::optional<wire::MacAddr> ns_mac;     // --ns-mac-addr
  std::string interface;                   // -i
  std::string outbound_if4, outbound_if6;  // --outbound-if4/6
  std::optional<net::Ipv4Addr> outbound4;  // -o
  std::optional<net::Ipv6Addr> outbound6;
  bool ipv4_only = false, ipv6_only = false;
  // Aliases and DNS.
  bool no_map_gw = false;
  std::optional<net::Ipv4Addr> map_host_loopback4;  // --map-host-loopback
  std::optional<net::Ipv6Addr> map_host_loopback6;
  std::optional<net::Ipv4Addr> map_guest_addr4;     // --map-guest-addr
  std::optional<net::Ipv6Addr> map_guest_addr6;
  std::optional<net::Ipv4Addr> dns_forward4;        // --dns-forward
  std::optional<net::Ipv6Addr> dns_forward6;
  std::optional<net::Ipv4Addr> dns_host4;           // --dns-host
  std::optional<net::Ipv6Addr> dns_host6;
  std::vector<net::IpAddr> dns;                     // -D (announced to the guest)
  bool dns_none = false;                             // -D none
  std::vector<std::string> search;                   // -S
  bool search_none = false;
  bool dhcp_dns = false, dhcp_search = false;
  // Protocol switches.
  bool no_tcp = false, no_udp = false, no_icmp = false;
  bool no_dhcp = false, no_dhcpv6 = false, no_ndp = false, no_ra = false;
  // Ports, in command-line order.
  std::vector<PastaPortOption> ports;
  // Accepted and without effect in netd (each named once in the log).
  std::vector<std::string> ignored;
};

// Parses argv (argv[0] is the program name getopt prints in its messages).
PastaOptions parse_pasta_args(int argc, char** argv);
// `pasta --help` / `pasta --version` texts.
std::string pasta_usage(const char* argv0);
std::string pasta_version();

}  // namespace netd
