#include "netd/pasta_options.h"

#include <getopt.h>

#include <charconv>
#include <cstdio>
#include <string>
#include <string_view>

#include "tap/tap_device.h"

namespace netd {
namespace {

// Long-only options get codes above the char range.
enum : int {
  kUserns = 256, kNetns, kNsMacAddr, kDhcpDns, kNoDhcpDns, kDhcpSearch, kNoDhcpSearch, kDnsForward,
  kNoNetnsQuit, kTrace, kRunas, kLogSize, kVersion, kOutboundIf4, kOutboundIf6, kConfigNet, kNoCopyRoutes,
  kNoCopyAddrs, kNetnsOnly, kMapHostLoopback, kMapGuestAddr, kHostLoToNsLo, kDnsHost, kVhostUser,
  kPrintCapabilities, kFqdn, kRepairPath, kMigrateExit, kMigrateNoLinger, kStats, kChrootFallback,
  kNoTcp, kNoUdp, kNoIcmp, kNoDhcp, kNoDhcpv6, kNoNdp, kNoRa, kNoSplice, kSpliceOnly, kFreebind, kNoMapGw,
  kQueues,
};

// pasta's short options, in its order ('+': stop at the first non-option,
// which starts the COMMAND).
constexpr const char* kShort = "+dqfel:hs:c:F:I:p:P:m:a:n:M:g:i:o:D:S:H:461t:u:T:U:";

const option kLong[] = {
    {"debug", no_argument, nullptr, 'd'},
    {"quiet", no_argument, nullptr, 'q'},
    {"foreground", no_argument, nullptr, 'f'},
    {"stderr", no_argument, nullptr, 'e'},
    {"log-file", required_argument, nullptr, 'l'},
    {"help", no_argument, nullptr, 'h'},
    {"socket", required_argument, nullptr, 's'},
    {"fd", required_argument, nullptr, 'F'},
    {"ns-ifname", required_argument, nullptr, 'I'},
    {"pcap", required_argument, nullptr, 'p'},
    {"pid", required_argument, nullptr, 'P'},
    {"mtu", required_argument, nullptr, 'm'},
    {"address", required_argument, nullptr, 'a'},
    {"netmask", required_argument, nullptr, 'n'},
    {"mac-addr", required_argument, nullptr, 'M'},
    {"gateway", required_argument, nullptr, 'g'},
    {"interface", required_argument, nullptr, 'i'},
    {"outbound", required_argument, nullptr, 'o'},
    {"dns", required_argument, nullptr, 'D'},
    {"search", required_argument, nullptr, 'S'},
    {"hostname", required_argument, nullptr, 'H'},
    {"no-tcp", no_argument, nullptr, kNoTcp},
    {"no-udp", no_argument, nullptr, kNoUdp},
    {"no-icmp", no_argument, nullptr, kNoIcmp},
    {"no-dhcp", no_argument, nullptr, kNoDhcp},
    {"no-dhcpv6", no_argument, nullptr, kNoDhcpv6},
    {"no-ndp", no_argument, nullptr, kNoNdp},
    {"no-ra", no_argument, nullptr, kNoRa},
    {"no-splice", no_argument, nullptr, kNoSplice},
    {"splice-only", no_argument, nullptr, kSpliceOnly},
    {"freebind", no_argument, nullptr, kFreebind},
    {"no-map-gw", no_argument, nullptr, kNoMapGw},
    {"ipv4-only", no_argument, nullptr, '4'},
    {"ipv6-only", no_argument, nullptr, '6'},
    {"one-off", no_argument, nullptr, '1'},
    {"tcp-ports", required_argument, nullptr, 't'},
    {"udp-ports", required_argument, nullptr, 'u'},
    {"tcp-ns", required_argument, nullptr, 'T'},
    {"udp-ns", required_argument, nullptr, 'U'},
    {"userns", required_argument, nullptr, kUserns},
    {"netns", required_argument, nullptr, kNetns},
    {"ns-mac-addr", required_argument, nullptr, kNsMacAddr},
    {"dhcp-dns", no_argument, nullptr, kDhcpDns},
    {"no-dhcp-dns", no_argument, nullptr, kNoDhcpDns},
    {"dhcp-search", no_argument, nullptr, kDhcpSearch},
    {"no-dhcp-search", no_argument, nullptr, kNoDhcpSearch},
    {"dns-forward", required_argument, nullptr, kDnsForward},
    {"no-netns-quit", no_argument, nullptr, kNoNetnsQuit},
    {"trace", no_argument, nullptr, kTrace},
    {"runas", required_argument, nullptr, kRunas},
    {"log-size", required_argument, nullptr, kLogSize},
    {"version", no_argument, nullptr, kVersion},
    {"outbound-if4", required_argument, nullptr, kOutboundIf4},
    {"outbound-if6", required_argument, nullptr, kOutboundIf6},
    {"config-net", no_argument, nullptr, kConfigNet},
    {"no-copy-routes", no_argument, nullptr, kNoCopyRoutes},
    {"no-copy-addrs", no_argument, nullptr, kNoCopyAddrs},
    {"netns-only", no_argument, nullptr, kNetnsOnly},
    {"map-host-loopback", required_argument, nullptr, kMapHostLoopback},
    {"map-guest-addr", required_argument, nullptr, kMapGuestAddr},
    {"host-lo-to-ns-lo", no_argument, nullptr, kHostLoToNsLo},
    {"dns-host", required_argument, nullptr, kDnsHost},
    {"vhost-user", no_argument, nullptr, kVhostUser},
    {"print-capabilities", no_argument, nullptr, kPrintCapabilities},
    {"socket-path", required_argument, nullptr, 's'},
    {"fqdn", required_argument, nullptr, kFqdn},
    {"repair-path", required_argument, nullptr, kRepairPath},
    {"migrate-exit", no_argument, nullptr, kMigrateExit},
    {"migrate-no-linger", no_argument, nullptr, kMigrateNoLinger},
    {"stats", required_argument, nullptr, kStats},
    {"conf-path", required_argument, nullptr, 'c'},
    {"chroot-fallback", no_argument, nullptr, kChrootFallback},
    {"queues", required_argument, nullptr, kQueues},  // netd's own
    {nullptr, 0, nullptr, 0},
};

template <class T>
bool parse_number(std::string_view s, T max, T* out) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || v > max) return false;
  *out = v;
  return true;
}

// An IPv4 netmask, dotted (contiguous) or a length 0..32.
std::optional<uint8_t> parse_prefix4(std::string_view s) {
  if (auto m = net::Ipv4Addr::parse(s)) {
    uint32_t mask = m->v;
    int len = __builtin_popcount(mask);
    if (len == 32 || (mask << len) == 0) return static_cast<uint8_t>(len);
    return std::nullopt;
  }
  uint8_t len = 0;
  if (parse_number<uint8_t>(s, 32, &len)) return len;
  return std::nullopt;
}

// A NAME means /run/netns/NAME, as `ip netns` names them.
std::string netns_path(std::string_view arg) {
  if (arg.find('/') == std::string_view::npos) return "/run/netns/" + std::string(arg);
  return std::string(arg);
}

class Parser {
 public:
  explicit Parser(PastaOptions& o) : o_(o) {}

  // Applies one option; false (with o_.error set) when its value is bad.
  bool apply(int code, const char* arg) {
    std::string_view v = arg ? arg : "";
    switch (code) {
      case 'd': o_.debug = true; o_.quiet = false; return true;
      case kTrace: o_.trace = o_.debug = true; o_.quiet = false; return true;
      case 'q': o_.quiet = true; o_.debug = o_.trace = false; return true;
      case 'f': o_.foreground = true; return true;
      case 'e': return ignore("--stderr");
      case 'l': o_.log_file = v; return true;
      case 'P': o_.pid_file = v; return true;
      case 'p': o_.pcap = v; return true;
      case 'c': o_.control_socket = v; return true;
      case kQueues:
        if (!parse_number<unsigned>(v, tap::kMaxTapQueues, &o_.queues) || o_.queues == 0)
          return bad("Invalid --queues: " + std::string(v) + " (1.." + std::to_string(tap::kMaxTapQueues) + ")");
        return true;
      case 'I':
        if (v.empty() || v.size() > 15) return bad("Invalid interface name: " + std::string(v));
        o_.ns_ifname = v;
        return true;
      case 'm': {
        unsigned mtu = 0;
        if (!parse_number<unsigned>(v, 65520, &mtu)) return bad("Invalid MTU: " + std::string(v) + " (0..65520)");
        o_.mtu = mtu;
        return true;
      }
      case 'a': return address(v);
      case 'n': {
        if (o_.addr4 && o_.addr4->prefix) return bad("Redundant prefix length specification");
        auto p = parse_prefix4(v);
        if (!p) return bad("Invalid prefix length: " + std::string(v));
        o_.netmask4 = *p;
        return true;
      }
      case 'M': return mac(v, &o_.our_mac);
      case kNsMacAddr: return mac(v, &o_.ns_mac);
      case 'g': return gateway(v);
      case 'i': o_.interface = v; return true;
      case kOutboundIf4: o_.outbound_if4 = v; return !v.empty() || bad("Invalid interface name: ");
      case kOutboundIf6: o_.outbound_if6 = v; return !v.empty() || bad("Invalid interface name: ");
      case 'o': return outbound(v);
      case 'D': return dns(v);
      case 'S':
        if (v == "none") {
          o_.search_none = true;
          o_.search.clear();
        } else {
          o_.search_none = false;
          o_.search.emplace_back(v);
        }
        return true;
      case '4': o_.ipv4_only = true; o_.ipv6_only = false; return true;
      case '6': o_.ipv6_only = true; o_.ipv4_only = false; return true;
      case 't': case 'u': case 'T': case 'U':
        o_.ports.push_back({static_cast<char>(code), std::string(v)});
        return true;
      case kUserns: o_.userns = v; o_.netns_only = false; return true;
      case kNetns: o_.netns = netns_path(v); return true;
      case kNetnsOnly: o_.netns_only = true; o_.userns.clear(); return true;
      case kNoNetnsQuit: o_.no_netns_quit = true; return true;
      case kConfigNet: o_.config_net = true; return true;
      case kDhcpDns: o_.dhcp_dns = true; return true;
      case kDhcpSearch: o_.dhcp_search = true; return true;
      case kNoDhcpDns: return bad("--no-dhcp-dns is for passt mode only");
      case kNoDhcpSearch: return bad("--no-dhcp-search is for passt mode only");
      case kDnsForward: return dual(v, &o_.dns_forward4, &o_.dns_forward6, "Invalid DNS forwarding address: ");
      case kDnsHost: return dual(v, &o_.dns_host4, &o_.dns_host6, "Invalid host nameserver address: ");
      case kMapHostLoopback:
        if (v == "none") {
          o_.no_map_gw = true;
          o_.map_host_loopback4.reset();
          o_.map_host_loopback6.reset();
          return true;
        }
        return dual(v, &o_.map_host_loopback4, &o_.map_host_loopback6, "Invalid address to remap to host: ");
      case kMapGuestAddr:
        if (v == "none") {
          o_.map_guest_addr4.reset();
          o_.map_guest_addr6.reset();
          return true;
        }
        return dual(v, &o_.map_guest_addr4, &o_.map_guest_addr6, "Invalid address to remap to host: ");
      case kNoMapGw: o_.no_map_gw = true; return true;
      case kNoTcp: o_.no_tcp = true; return true;
      case kNoUdp: o_.no_udp = true; return true;
      case kNoIcmp: o_.no_icmp = true; return true;
      case kNoDhcp: o_.no_dhcp = true; return true;
      case kNoDhcpv6: o_.no_dhcpv6 = true; return true;
      case kNoNdp: o_.no_ndp = true; return true;
      case kNoRa: o_.no_ra = true; return true;
      case kVersion: o_.action = PastaOptions::Action::Version; return true;
      case 'h': o_.action = PastaOptions::Action::Help; return true;
      // Tuning of pasta's own internals: no meaning for netd's engine.
      case kNoSplice: return ignore("--no-splice");
      case kFreebind: return ignore("--freebind");
      case kRunas: return ignore("--runas");
      case kLogSize: return ignore("--log-size");
      case kNoCopyRoutes: return ignore("--no-copy-routes");
      case kNoCopyAddrs: return ignore("--no-copy-addrs");
      case kChrootFallback: return ignore("--chroot-fallback");
      case 'H': return ignore("--hostname");
      case kFqdn: return ignore("--fqdn");
      // Real pasta refuses these too.
      case 's': return bad("-s is for passt / vhost-user mode only");
      case 'F': return bad("--fd is for passt mode only");
      case '1': return bad("--one-off is for passt mode only");
      case kVhostUser: case kPrintCapabilities: return bad("--vhost-user is for passt mode only");
      case kRepairPath: return bad("--repair-path is for vhost-user mode only");
      case kMigrateExit: case kMigrateNoLinger: return bad("--migrate-* is for vhost-user mode only");
      case kStats: return bad("--stats is not supported by netd (use SIGUSR1 for counters)");
      case kSpliceOnly: return bad("--splice-only is not supported by netd");
      case kHostLoToNsLo: return bad("--host-lo-to-ns-lo is not supported by netd");
      default: return bad("unexpected option");
    }
  }

 private:
  bool bad(std::string msg) {
    o_.action = PastaOptions::Action::Error;
    o_.error = std::move(msg);
    return false;
  }
  bool ignore(const char* name) {
    o_.ignored.emplace_back(name);
    return true;
  }
  bool mac(std::string_view v, std::optional<wire::MacAddr>* out) {
    auto m = wire::MacAddr::parse(v);
    if (!m || (m->b[0] & 1)) return bad("Invalid MAC address: " + std::string(v));
    *out = *m;
    return true;
  }
  // ADDR[/PREFIX], either family.
  bool address(std::string_view v) {
    std::string_view a = v;
    std::optional<unsigned> prefix;
    if (auto slash = v.find('/'); slash != std::string_view::npos) {
      a = v.substr(0, slash);
      unsigned p = 0;
      if (!parse_number<unsigned>(v.substr(slash + 1), 128, &p)) return bad("Invalid prefix length: " + std::string(v));
      prefix = p;
    }
    if (auto v4 = net::Ipv4Addr::parse(a)) {
      if (v4->is_unspecified() || v4->is_loopback() || v4->is_multicast() || v4->is_broadcast())
        return bad("Invalid guest address: " + std::string(v));
      if (prefix && (*prefix > 32 || o_.netmask4)) {
        return bad(*prefix > 32 ? "Invalid prefix length: " + std::string(v)
                                : std::string("Redundant prefix length specification"));
      }
      o_.addr4 = net::Ipv4Cidr{*v4, static_cast<uint8_t>(prefix.value_or(0))};
      return true;
    }
    if (auto v6 = net::Ipv6Addr::parse(a)) {
      if (v6->is_unspecified() || v6->is_loopback() || v6->is_multicast() || v6->is_v4_mapped())
        return bad("Invalid guest address: " + std::string(v));
      o_.addr6 = net::Ipv6Cidr{*v6, static_cast<uint8_t>(prefix.value_or(64))};
      return true;
    }
    return bad("Invalid guest address: " + std::string(v));
  }
  bool gateway(std::string_view v) {
    if (auto v6 = net::Ipv6Addr::parse(v); v6 && !v6->is_unspecified() && !v6->is_loopback()) {
      o_.gateway6 = *v6;
      return true;
    }
    if (auto v4 = net::Ipv4Addr::parse(v); v4 && !v4->is_unspecified() && !v4->is_broadcast() && !v4->is_loopback()) {
      o_.gateway4 = *v4;
      return true;
    }
    return bad("Invalid gateway address: " + std::string(v));
  }
  bool outbound(std::string_view v) {
    if (auto v6 = net::Ipv6Addr::parse(v);
        v6 && !v6->is_unspecified() && !v6->is_loopback() && !v6->is_v4_mapped() && !v6->is_multicast()) {
      o_.outbound6 = *v6;
      return true;
    }
    if (auto v4 = net::Ipv4Addr::parse(v);
        v4 && !v4->is_unspecified() && !v4->is_broadcast() && !v4->is_multicast()) {
      o_.outbound4 = *v4;
      return true;
    }
    return bad("Invalid or redundant outbound address: " + std::string(v));
  }
  bool dns(std::string_view v) {
    if (v == "none") {
      o_.dns_none = true;
      o_.dns.clear();
      return true;
    }
    auto a = net::IpAddr::parse(v);
    if (!a) return bad("Cannot use DNS address " + std::string(v));
    o_.dns_none = false;
    o_.dns.push_back(*a);
    return true;
  }
  // An address of either family that can be a destination (not unspecified,
  // loopback or multicast).
  bool dual(std::string_view v, std::optional<net::Ipv4Addr>* out4, std::optional<net::Ipv6Addr>* out6,
            const char* what) {
    if (auto v6 = net::Ipv6Addr::parse(v); v6 && !v6->is_unspecified() && !v6->is_loopback() &&
                                            !v6->is_multicast() && !v6->is_v4_mapped()) {
      *out6 = *v6;
      return true;
    }
    if (auto v4 = net::Ipv4Addr::parse(v); v4 && !v4->is_unspecified() && !v4->is_broadcast() &&
                                            !v4->is_loopback() && !v4->is_multicast()) {
      *out4 = *v4;
      return true;
    }
    return bad(what + std::string(v));
  }

  PastaOptions& o_;
};

}  // namespace

PastaOptions parse_pasta_args(int argc, char** argv) {
  PastaOptions o;
  Parser p(o);
  optind = 0;  // restart getopt (0 also resets glibc's internal state)
  opterr = 1;  // getopt prints its own messages, worded as pasta's are
  for (;;) {
    int code = getopt_long(argc, argv, kShort, kLong, nullptr);
    if (code == -1) break;
    if (code == '?' || code == ':') {
      o.action = PastaOptions::Action::Error;
      o.usage = true;
      return o;
    }
    if (!p.apply(code, optarg)) return o;
    if (o.action != PastaOptions::Action::Run) return o;  // --help, --version
  }
  for (int i = optind; i < argc; ++i) o.positional.emplace_back(argv[i]);
  if (o.addr4 && o.netmask4) o.addr4->prefix = *o.netmask4;
  return o;
}

std::string pasta_version() {
  return std::string("pasta netd-") + NETD_VERSION +
         "\n"
         "netd's implementation of pasta's command line and behaviour\n"
         "(a rootless networking stack for containers).\n";
}

std::string pasta_usage(const char* argv0) {
  std::string s = std::string("Usage: ") + argv0 + " [OPTION]... [COMMAND] [ARGS]...\n       " + argv0 +
                  " [OPTION]... PID\n       " + argv0 + " [OPTION]... --netns PATH|NAME\n";
  s +=
      "\n"
      "Connect a network namespace to the host's network through a tap device\n"
      "(netd's engine behind pasta's command line; see netd-pasta(1)). Without PID\n"
      "or --netns, run COMMAND (default: a shell) in new user and network namespaces.\n"
      "\n"
      "  -d, --debug            be verbose\n"
      "      --trace            be extra verbose, implies --debug\n"
      "  -q, --quiet            don't print informational messages\n"
      "  -f, --foreground       don't run in background\n"
      "  -l, --log-file PATH    log (only) to the given file\n"
      "  -c, --conf-path PATH   configuration socket for pesto (runtime port changes)\n"
      "  -h, --help             display this help message and exit\n"
      "      --version          show version and exit\n"
      "  -I, --ns-ifname NAME   namespace interface name\n"
      "                         default: same name as the host's template interface\n"
      "  -p, --pcap FILE        log tap-facing traffic to a pcap file (one queue only)\n"
      "  -P, --pid FILE         write own PID to the given file\n"
      "  -m, --mtu MTU          MTU of the namespace interface (default: 65520)\n"
      "  -a, --address ADDR     assign IPv4 or IPv6 address ADDR[/PREFIXLEN]\n"
      "                         default: the addresses of the template interface\n"
      "  -n, --netmask MASK     assign IPv4 MASK, dot-decimal or bits\n"
      "  -M, --mac-addr ADDR    use source MAC address ADDR (netd's side)\n"
      "  -g, --gateway ADDR     pass IPv4 or IPv6 address as gateway\n"
      "                         default: the template interface's default gateway\n"
      "  -i, --interface NAME   template interface for addresses and routes\n"
      "                         default: the interface of the first default route\n"
      "  -o, --outbound ADDR    bind to address as outbound source\n"
      "  --outbound-if4 NAME    bind to outbound interface for IPv4\n"
      "  --outbound-if6 NAME    bind to outbound interface for IPv6\n"
      "  -D, --dns ADDR         name server to tell the namespace about (DHCP, NDP)\n"
      "  -S, --search LIST      search domains to tell the namespace about\n"
      "  --dhcp-dns, --dhcp-search  pass the host's name servers / search list\n"
      "  --map-host-loopback ADDR  translate ADDR to the host's loopback\n"
      "                         default: the gateway address\n"
      "  --map-guest-addr ADDR  translate ADDR to the host's own address\n"
      "  --dns-forward ADDR     answer DNS queries sent to ADDR with netd's forwarder\n"
      "  --dns-host ADDR        upstream name server for it\n"
      "                         default: the name servers of /etc/resolv.conf\n"
      "  --no-tcp, --no-udp, --no-icmp  disable a protocol handler\n"
      "  --no-dhcp, --no-ndp, --no-dhcpv6, --no-ra  disable a built-in service\n"
      "  --no-map-gw            don't map the gateway address to the host\n"
      "  -4, --ipv4-only        enable IPv4 operation only\n"
      "  -6, --ipv6-only        enable IPv6 operation only\n"
      "  -t, --tcp-ports SPEC   TCP port forwarding to the namespace\n"
      "      SPEC: 'none', 'auto', 'all', or [ADDR[%IFACE]/]PORTS, PORTS a\n"
      "      comma-separated list of ports or ranges, '~' excludes, ':' maps\n"
      "      (e.g. 8080:80, 5000-5010, 127.0.0.1/8080, 22-80,~25)\n"
      "  -u, --udp-ports SPEC   UDP port forwarding to the namespace\n"
      "  -T, --tcp-ns SPEC      TCP port forwarding from the namespace to the host\n"
      "  -U, --udp-ns SPEC      UDP port forwarding from the namespace to the host\n"
      "  --userns NSPATH        target user namespace to join\n"
      "  --netns PATH|NAME      target network namespace to join\n"
      "  --netns-only           don't join an existing user namespace\n"
      "  --no-netns-quit        don't quit when the namespace file is deleted\n"
      "  --config-net           configure the tap interface in the namespace\n"
      "  --ns-mac-addr ADDR     set the MAC address of the tap interface\n"
      "\n"
      "netd's own (pasta has no such option):\n"
      "  --queues N             tap queues, each served by its own thread and event loop\n"
      "                         (1..8; default 1). More use more cores for parallel\n"
      "                         flows; a flow stays on one queue\n"
      "\n"
      "Accepted and without effect: -e/--stderr, --no-splice, --freebind, --runas,\n"
      "--log-size, --no-copy-routes, --no-copy-addrs, --chroot-fallback,\n"
      "-H/--hostname, --fqdn.\n";
  return s;
}

}  // namespace netd
