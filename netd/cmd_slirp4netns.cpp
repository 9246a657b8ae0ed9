// `netd slirp4netns` (and argv[0] == "slirp4netns"): slirp4netns' command
// line, mapped onto the attach engine (netd/attach_runner.h). See
// docs/man/netd-slirp4netns.1.md and docs/compat-slirp4netns.md.
//
// Theory of operation: getopt_long(3), as slirp4netns itself uses, turns argv
// into an AttachConfig: `--opt=V` and `--opt V`, `-eV` and `-e V`, clustered
// flags (`-c6`), unambiguous abbreviations of long names, options and
// positionals in any order, `--` ends options. The option string starts with
// '-' (positionals come back in order, argv is never permuted, whatever
// POSIXLY_CORRECT says) and ':' (a missing value is told apart from an
// unknown option); getopt's own messages are off (opterr = 0) and netd words
// them, so they name the long option. Parse errors print the message and the
// usage on stderr and exit 1, like slirp4netns; -h prints the usage on stdout
// and exits 0. Options netd cannot honour are refused with a clear error.
#include <getopt.h>
#include <seccomp.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/log.h"
#include "common/parse_number.h"
#include "netd/attach_runner.h"
#include "netd/commands.h"
#include "netd/outbound_addr.h"
#include "netd/target_arg.h"
#include "tap/stack_config.h"

namespace netd {
namespace {

constexpr const char* kCompatVersion = "1.2.0";

bool parse_int(std::string_view s, long min, long max, long* out) {
  auto v = parse_decimal<unsigned long>(s, static_cast<unsigned long>(min), static_cast<unsigned long>(max));
  if (!v) return false;
  *out = static_cast<long>(*v);
  return true;
}

// Values of the options without a short form (above any character).
enum LongOnly : int {
  kCidr = 256,
  kCidr6,
  kDisableHostLoopback,
  kNetnsType,
  kUsernsPath,
  kEnableSandbox,
  kEnableSeccomp,
  kDisableSandbox,
  kDisableSeccomp,
  kOutboundAddr,
  kOutboundAddr6,
  kDisableDns,
  kMacAddress,
  kTargetType,
};
constexpr option kLongOptions[] = {
    {"configure", no_argument, nullptr, 'c'},
    {"exit-fd", required_argument, nullptr, 'e'},
    {"ready-fd", required_argument, nullptr, 'r'},
    {"mtu", required_argument, nullptr, 'm'},
    {"enable-ipv6", no_argument, nullptr, '6'},
    {"api-socket", required_argument, nullptr, 'a'},
    {"help", no_argument, nullptr, 'h'},
    {"version", no_argument, nullptr, 'v'},
    {"cidr", required_argument, nullptr, kCidr},
    {"cidr6", required_argument, nullptr, kCidr6},
    {"disable-host-loopback", no_argument, nullptr, kDisableHostLoopback},
    {"netns-type", required_argument, nullptr, kNetnsType},
    {"userns-path", required_argument, nullptr, kUsernsPath},
    {"enable-sandbox", no_argument, nullptr, kEnableSandbox},
    {"enable-seccomp", no_argument, nullptr, kEnableSeccomp},
    {"disable-sandbox", no_argument, nullptr, kDisableSandbox},
    {"disable-seccomp", no_argument, nullptr, kDisableSeccomp},
    {"outbound-addr", required_argument, nullptr, kOutboundAddr},
    {"outbound-addr6", required_argument, nullptr, kOutboundAddr6},
    {"disable-dns", no_argument, nullptr, kDisableDns},
    {"macaddress", required_argument, nullptr, kMacAddress},
    {"target-type", required_argument, nullptr, kTargetType},
    {nullptr, 0, nullptr, 0},
};
// '-': positionals in order (as option 1); ':': a missing value returns ':'.
constexpr const char* kShortOptions = "-:ce:r:m:6a:hv";

// The long name of option value `val`, or nullptr.
const char* long_name(int val) {
  for (const option* o = kLongOptions; o->name; ++o)
    if (o->val == val) return o->name;
  return nullptr;
}

// What the command line said, before the checks that need all of it.
struct Parsed {
  std::vector<std::string> positionals;
  std::string netns_type = "pid", userns_path, target_type = "netns";
  bool ipv6 = false;
};

// getopt's answer '?' or ':' for the argument just read, as one line.
std::string option_error(int rc, char** argv) {
  const char* name = long_name(optopt);
  if (rc == ':') return std::string("option '--") + (name ? name : "?") + "' requires an argument";
  if (optopt != 0 && name) return std::string("option '--") + name + "' doesn't allow an argument";
  if (optopt != 0) return std::string("invalid option -- '") + static_cast<char>(optopt) + "'";
  // An unknown or ambiguous long option: getopt moved past it.
  std::string_view arg = optind > 0 ? argv[optind - 1] : "";
  if (arg.substr(0, 2) == "--") arg.remove_prefix(2);
  arg = arg.substr(0, arg.find('='));
  int matches = 0;
  for (const option* o = kLongOptions; o->name; ++o) matches += std::string_view(o->name).substr(0, arg.size()) == arg;
  if (!arg.empty() && matches > 1) return "option '--" + std::string(arg) + "' is ambiguous";
  return "unrecognized option '--" + std::string(arg) + "'";
}

// Applies option `val` with its value `arg` (nullptr for a flag). Returns an
// error line, or an empty string.
std::string apply_option(int val, const char* arg, AttachConfig& c, Parsed& p) {
  std::string value = arg ? arg : "";
  long n = 0;
  switch (val) {
    case 'c': c.configure = true; break;
    case 'e':
      if (!parse_int(value, 0, 1 << 30, &n)) return "exit-fd must be a non-negative integer: '" + value + "'";
      c.exit_fd = static_cast<int>(n);
      break;
    case 'r':
      if (!parse_int(value, 0, 1 << 30, &n)) return "ready-fd must be a non-negative integer: '" + value + "'";
      c.ready_fd = static_cast<int>(n);
      break;
    case 'm':
      if (!parse_int(value, 1, 65521, &n)) return "MTU must be a positive integer (< 65522): '" + value + "'";
      c.mtu = static_cast<unsigned>(n);
      break;
    case '6': p.ipv6 = true; break;
    case 'a': c.api_socket = value; break;
    case kCidr: c.cidr = value; break;
    case kCidr6: c.cidr6 = value; break;
    case kDisableHostLoopback: c.disable_host_loopback = true; break;
    case kNetnsType: p.netns_type = value; break;
    case kUsernsPath: p.userns_path = value; break;
    case kEnableSandbox: c.sandbox = true; break;
    case kEnableSeccomp: c.seccomp = true; break;
    case kDisableSandbox: c.sandbox = false; break;
    case kDisableSeccomp: c.seccomp = false; break;
    case kOutboundAddr:
    case kOutboundAddr6: {
      // Checked here, looked up (interface names) at start-up: run_attach.
      auto fam = val == kOutboundAddr ? net::IpFamily::V4 : net::IpFamily::V6;
      if (auto spec = classify_outbound(value, fam); !spec) return spec.error();
      (fam == net::IpFamily::V4 ? c.outbound_addr : c.outbound_addr6) = value;
      break;
    }
    case kDisableDns: c.disable_dns = true; break;
    case kMacAddress: c.mac = value; break;
    case kTargetType: p.target_type = value; break;
    default: break;
  }
  return {};
}

// The checks that need the whole command line; fills in the target.
std::string finish(AttachConfig& c, const Parsed& p) {
  if (p.target_type == "bess") return "--target-type=bess is not supported by netd";
  if (p.target_type != "netns") return "--target-type must be netns or bess: '" + p.target_type + "'";
  if (p.netns_type == "tapfd") return "--netns-type=tapfd is not supported by netd";
  if (p.netns_type != "pid" && p.netns_type != "path")
    return "--netns-type must be pid or path: '" + p.netns_type + "'";
  if (!c.mac.empty() && !c.configure) return "--macaddress can only be used with -c (--configure)";
  const auto& pos = p.positionals;
  if (pos.empty()) return "missing PID or PATH";
  if (pos.size() > 2) return "too many arguments: '" + pos[2] + "'";
  if (pos.size() == 2) c.tap_name = pos[1];
  if (c.tap_name.empty() || c.tap_name.size() > 15) return "bad TAPNAME: '" + c.tap_name + "'";
  if (p.netns_type == "pid") {
    long pid = 0;
    if (!parse_int(pos[0], 1, 0x7fffffff, &pid)) return "PID must be a positive integer: '" + pos[0] + "'";
    c.target.pid = static_cast<pid_t>(pid);
  } else {
    c.target.netns_path = pos[0];
  }
  c.target.userns_path = p.userns_path;
  auto cidr = tap::StackConfig::from_cidr(c.cidr);
  if (!cidr) return "--cidr: " + cidr.error();
  if (auto r = cidr->set_cidr6(c.cidr6); !r) return "--cidr6: " + r.error();
  c.ipv6 = p.ipv6;
  return {};
}

}  // namespace

std::string slirp4netns_usage(const char* argv0) {
  std::string s = "Usage: ";
  s += argv0;
  s += " [OPTION]... PID|PATH [TAPNAME]\n"
       "User-mode networking for unprivileged network namespaces (netd's engine behind\n"
       "slirp4netns' command line).\n\n"
       "-c, --configure          bring up the interface: lo up, TAPNAME up with MTU/MAC,\n"
       "                         the guest address (CIDR+100) and the default route\n"
       "-e, --exit-fd=FD         specify the FD for terminating slirp4netns: exit 0 when it\n"
       "                         reports hang-up (and remove the API socket)\n"
       "-r, --ready-fd=FD        specify the FD to write to when the network is configured\n"
       "                         (writes \"1\" and closes it)\n"
       "-m, --mtu=MTU            specify MTU (default=1500, max=65521)\n"
       "-6, --enable-ipv6        enable IPv6: prefix fd00::/64 (guest by SLAAC), gateway\n"
       "                         fd00::2 (host ::1 unless --disable-host-loopback), DNS fd00::3\n"
       "-a, --api-socket=PATH    specify API socket path (add_hostfwd, list_hostfwd,\n"
       "                         remove_hostfwd; netd also list_flows, get_counters)\n"
       "--cidr=CIDR              specify network address CIDR (default=10.0.2.0/24)\n"
       "--cidr6=PREFIX           netd only: IPv6 prefix with -6 (a /64, default=fd00::/64)\n"
       "--disable-host-loopback  prohibit connecting to 127.0.0.1:* on the host namespace\n"
       "--netns-type=TYPE        specify network namespace type ([path|pid], default=pid;\n"
       "                         tapfd is not supported by netd)\n"
       "--userns-path=PATH       specify user namespace path\n"
       "--enable-sandbox         enable create-sandbox: after start-up, an empty read-only\n"
       "                         root, no capabilities, no_new_privs (netd: on by default)\n"
       "--enable-seccomp         enable seccomp to limit syscalls (a blocked call is logged\n"
       "                         by name and stops the process; netd: on by default)\n"
       "--disable-sandbox        netd only: no sandbox\n"
       "--disable-seccomp        netd only: no seccomp allow-list\n"
       "--outbound-addr=IPv4     sets outbound ipv4 address to bound to: host sockets of the\n"
       "                         guest's TCP, UDP, ICMP and DNS use it as their source (an\n"
       "                         interface name means its first IPv4 address at start-up)\n"
       "--outbound-addr6=IPv6    sets outbound ipv6 address to bound to (likewise; an interface\n"
       "                         name means its first IPv6 address that is not link-local)\n"
       "--disable-dns            disables 10.0.2.3 (or configured internal ip) to host dns\n"
       "                         redirect (queries get SERVFAIL)\n"
       "--macaddress=MAC         specify the MAC address of the TAP (only valid with -c)\n"
       "--target-type=TYPE       specify the target type ([netns|bess], default=netns;\n"
       "                         bess is not supported by netd)\n"
       "-h, --help               show this help and exit\n"
       "-v, --version            show version and exit\n";
  return s;
}

std::string slirp4netns_version() {
  const scmp_version* v = seccomp_version();
  std::string s = std::string("slirp4netns version ") + kCompatVersion + "\n";
  s += "commit: netd\n";
  s += "libslirp: none (netd's own engine)\n";
  s += "SLIRP_CONFIG_VERSION_MAX: 4\n";
  s += "libseccomp: " + (v ? std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                                 std::to_string(v->micro)
                           : std::string("unknown")) +
       "\n";
  return s;
}

Slirp4netnsCommand parse_slirp4netns_args(int argc, char** argv) {
  Slirp4netnsCommand out;
  AttachConfig& c = out.cfg;
  c.prog = "slirp4netns";
  c.mtu = 1500;
  c.arg_error_status = 1;
  c.ipv6 = false;  // slirp4netns: IPv6 only with -6
  // Unlike slirp4netns, confined unless told otherwise (docs/security.md).
  c.sandbox = true;
  c.seccomp = true;
  auto fail = [&](std::string msg) {
    out.action = Slirp4netnsCommand::Action::Error;
    out.error = std::move(msg);
    return out;
  };
  Parsed p;
  optind = 0;  // 0, not 1: glibc then also forgets a previous call's state
  opterr = 0;  // netd prints its own messages (option_error)
  int val;
  while ((val = ::getopt_long(argc, argv, kShortOptions, kLongOptions, nullptr)) != -1) {
    if (val == 1) {
      p.positionals.emplace_back(optarg);
      continue;
    }
    if (val == '?' || val == ':') return fail(option_error(val, argv));
    if (val == 'h' || val == 'v') {
      out.action = val == 'h' ? Slirp4netnsCommand::Action::Help : Slirp4netnsCommand::Action::Version;
      return out;
    }
    if (auto err = apply_option(val, optarg, c, p); !err.empty()) return fail(err);
  }
  for (int i = optind; i < argc; ++i) p.positionals.emplace_back(argv[i]);  // after "--"
  if (auto err = finish(c, p); !err.empty()) return fail(err);
  return out;
}

namespace cmd {

int slirp4netns(int argc, char** argv) {
  log::set_program("slirp4netns");
  auto p = parse_slirp4netns_args(argc, argv);
  const char* argv0 = argc > 0 ? argv[0] : "slirp4netns";
  switch (p.action) {
    case Slirp4netnsCommand::Action::Help:
      std::fputs(slirp4netns_usage(argv0).c_str(), stdout);
      return 0;
    case Slirp4netnsCommand::Action::Version:
      std::fputs(slirp4netns_version().c_str(), stdout);
      return 0;
    case Slirp4netnsCommand::Action::Error:
      std::fprintf(stderr, "%s: %s\n%s", argv0, p.error.c_str(), slirp4netns_usage(argv0).c_str());
      return 1;
    case Slirp4netnsCommand::Action::Run:
      break;
  }
  for (const auto& w : p.warnings) LOG_WARN("%s", w.c_str());
  return run_attach(p.cfg);
}

}  // namespace cmd
}  // namespace netd
