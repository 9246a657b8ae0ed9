// `netd slirp4netns` (and argv[0] == "slirp4netns"): slirp4netns' command
// line, mapped onto the attach engine (netd/attach_runner.h). See
// docs/man/netd-slirp4netns.1.md and docs/compat-slirp4netns.md.
//
// Theory of operation: a small hand-written parser with slirp4netns' rules
// (getopt_long style: `--opt=V` and `--opt V`, `-eV` and `-e V`, options and
// positionals in any order, `--` ends options) turns argv into an
// AttachConfig. Parse errors print the message and the usage on stderr and
// exit 1, like slirp4netns; -h prints the usage on stdout and exits 0.
// Options netd cannot honour yet are either accepted with one warning line
// (those Podman and RootlessKit always pass and that are harmless to ignore)
// or refused with a clear error.
#include <seccomp.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/log.h"
#include "netd/attach_runner.h"
#include "netd/commands.h"
#include "netd/outbound_addr.h"
#include "netd/target_arg.h"
#include "tap/stack_config.h"

namespace netd {
namespace {

constexpr const char* kCompatVersion = "1.2.0";

bool parse_int(std::string_view s, long min, long max, long* out) {
  if (s.empty() || s.size() > 10) return false;
  long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v < min || v > max) return false;
  *out = v;
  return true;
}

struct Opt {
  const char* long_name;
  char short_name;  // 0: long only
  bool has_arg;
};
constexpr Opt kOpts[] = {
    {"configure", 'c', false},     {"exit-fd", 'e', true},          {"ready-fd", 'r', true},
    {"mtu", 'm', true},            {"enable-ipv6", '6', false},     {"api-socket", 'a', true},
    {"help", 'h', false},          {"version", 'v', false},         {"cidr", 0, true},
    {"disable-host-loopback", 0, false}, {"netns-type", 0, true},  {"userns-path", 0, true},
    {"enable-sandbox", 0, false},  {"enable-seccomp", 0, false},    {"outbound-addr", 0, true},
    {"outbound-addr6", 0, true},   {"disable-dns", 0, false},       {"macaddress", 0, true},
    {"target-type", 0, true},      {"cidr6", 0, true},
};

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
       "                         root, no capabilities, no_new_privs\n"
       "--enable-seccomp         enable seccomp to limit syscalls (a blocked call is logged\n"
       "                         by name and stops the process)\n"
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
  auto fail = [&](std::string msg) {
    out.action = Slirp4netnsCommand::Action::Error;
    out.error = std::move(msg);
    return out;
  };
  std::vector<std::string> pos;
  std::string netns_type = "pid", userns_path, target_type = "netns";
  bool ipv6 = false;
  bool options_done = false;

  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (options_done || arg.size() < 2 || arg[0] != '-') {
      pos.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    // Resolve the option and its value.
    const Opt* opt = nullptr;
    std::string value;
    bool have_value = false;
    if (arg.substr(0, 2) == "--") {
      std::string_view name = arg.substr(2);
      auto eq = name.find('=');
      if (eq != std::string_view::npos) {
        value = std::string(name.substr(eq + 1));
        have_value = true;
        name = name.substr(0, eq);
      }
      for (const auto& o : kOpts) {
        if (name == o.long_name) opt = &o;
      }
      if (!opt) return fail("unrecognized option '--" + std::string(name) + "'");
      if (!opt->has_arg && have_value) return fail("option '--" + std::string(name) + "' doesn't allow an argument");
    } else {
      // Short options may be clustered ("-c6"); one taking a value ends the cluster.
      for (size_t k = 1; k < arg.size(); ++k) {
        const Opt* so = nullptr;
        for (const auto& o : kOpts) {
          if (o.short_name == arg[k]) so = &o;
        }
        if (!so) return fail(std::string("invalid option -- '") + arg[k] + "'");
        if (so->has_arg) {
          if (k + 1 < arg.size()) {
            value = std::string(arg.substr(k + 1));
            have_value = true;
          }
          opt = so;
          break;
        }
        if (k + 1 == arg.size()) {
          opt = so;
          break;
        }
        // A flag in the middle of a cluster: apply it now.
        switch (so->short_name) {
          case 'c': c.configure = true; break;
          case '6': ipv6 = true; break;
          case 'h': out.action = Slirp4netnsCommand::Action::Help; return out;
          case 'v': out.action = Slirp4netnsCommand::Action::Version; return out;
          default: break;
        }
      }
    }
    if (opt->has_arg && !have_value) {
      if (i + 1 >= argc) return fail("option '--" + std::string(opt->long_name) + "' requires an argument");
      value = argv[++i];
    }
    std::string name = opt->long_name;
    long n = 0;
    if (name == "configure") c.configure = true;
    else if (name == "exit-fd") {
      if (!parse_int(value, 0, 1 << 30, &n)) return fail("exit-fd must be a non-negative integer: '" + value + "'");
      c.exit_fd = static_cast<int>(n);
    } else if (name == "ready-fd") {
      if (!parse_int(value, 0, 1 << 30, &n)) return fail("ready-fd must be a non-negative integer: '" + value + "'");
      c.ready_fd = static_cast<int>(n);
    } else if (name == "mtu") {
      if (!parse_int(value, 1, 65521, &n)) return fail("MTU must be a positive integer (< 65522): '" + value + "'");
      c.mtu = static_cast<unsigned>(n);
    } else if (name == "enable-ipv6") ipv6 = true;
    else if (name == "api-socket") c.api_socket = value;
    else if (name == "help") {
      out.action = Slirp4netnsCommand::Action::Help;
      return out;
    } else if (name == "version") {
      out.action = Slirp4netnsCommand::Action::Version;
      return out;
    } else if (name == "cidr") c.cidr = value;
    else if (name == "cidr6") c.cidr6 = value;
    else if (name == "disable-host-loopback") c.disable_host_loopback = true;
    else if (name == "netns-type") netns_type = value;
    else if (name == "userns-path") userns_path = value;
    else if (name == "enable-sandbox") c.sandbox = true;
    else if (name == "enable-seccomp") c.seccomp = true;
    else if (name == "outbound-addr" || name == "outbound-addr6") {
      // Checked here, looked up (interface names) at start-up: run_attach.
      auto fam = name == "outbound-addr" ? wire::IpFamily::V4 : wire::IpFamily::V6;
      if (auto spec = classify_outbound(value, fam); !spec) return fail(spec.error());
      (fam == wire::IpFamily::V4 ? c.outbound_addr : c.outbound_addr6) = value;
    }
    else if (name == "disable-dns") c.disable_dns = true;
    else if (name == "macaddress") c.mac = value;
    else if (name == "target-type") target_type = value;
  }

  if (target_type == "bess") return fail("--target-type=bess is not supported by netd");
  if (target_type != "netns") return fail("--target-type must be netns or bess: '" + target_type + "'");
  if (netns_type == "tapfd") return fail("--netns-type=tapfd is not supported by netd");
  if (netns_type != "pid" && netns_type != "path")
    return fail("--netns-type must be pid or path: '" + netns_type + "'");
  if (!c.mac.empty() && !c.configure) return fail("--macaddress can only be used with -c (--configure)");
  if (pos.empty()) return fail("missing PID or PATH");
  if (pos.size() > 2) return fail("too many arguments: '" + pos[2] + "'");
  if (pos.size() == 2) c.tap_name = pos[1];
  if (c.tap_name.empty() || c.tap_name.size() > 15) return fail("bad TAPNAME: '" + c.tap_name + "'");
  if (netns_type == "pid") {
    long pid = 0;
    if (!parse_int(pos[0], 1, 0x7fffffff, &pid)) return fail("PID must be a positive integer: '" + pos[0] + "'");
    c.target.pid = static_cast<pid_t>(pid);
  } else {
    c.target.netns_path = pos[0];
  }
  c.target.userns_path = userns_path;
  auto cidr = tap::StackConfig::from_cidr(c.cidr);
  if (!cidr) return fail("--cidr: " + cidr.error());

  if (auto r = cidr->set_cidr6(c.cidr6); !r) return fail("--cidr6: " + r.error());
  c.ipv6 = ipv6;
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
