// `netd attach`: give a container's network namespace a TAP device whose
// traffic netd translates to host sockets. See docs/man/netd-attach.1.md.
//
// Start-up order matters to clients: everything that can fail (arguments,
// the tap, the ring, the DNS upstreams) is done before the pid file and the
// ready byte are written, so "ready" means packets flow. The sequence itself
// is shared with `netd slirp4netns`: netd/attach_runner.h.
#include <CLI/CLI.hpp>
#include <iostream>
#include <string>
#include <vector>

#include "common/log.h"
#include "netd/attach_runner.h"
#include "netd/cli_parse.h"
#include "netd/commands.h"
#include "netd/target_arg.h"

namespace netd::cmd {
namespace {

struct AttachArgs {
  std::string target;
  std::string netns_path;
  std::string userns_path;
  std::string tap_name = "tap0";
  bool configure = false;
  unsigned mtu = 65520;
  std::string cidr = "10.0.2.0/24";
  bool disable_host_loopback = false;
  std::vector<std::string> dns_upstreams;
  bool disable_dns = false;
  std::string mac;
  int ready_fd = -1;
  std::string pid_file;
  std::string pcap;
  std::string log_level = "info";
  bool no_offload = false;
  std::vector<std::string> publish;
  bool sandbox = true;
  bool seccomp = true;
};

void build_cli(CLI::App& app, AttachArgs& a) {
  app.description(
      "Attach a TAP device inside a container's network namespace and translate its\n"
      "traffic (ARP, DHCP, ICMP echo, UDP, TCP, DNS) to ordinary sockets of the\n"
      "calling user. netd never enters the namespace itself: a short-lived child\n"
      "opens the tap there and hands it back.\n\n"
      "Addresses follow --cidr (default 10.0.2.0/24): gateway .2 (reaches the host's\n"
      "127.0.0.1 unless --disable-host-loopback), DNS forwarder .3, guest .100 (leased\n"
      "by DHCP, or set directly with --configure).");
  app.add_option("target", a.target, "PID of a process in the namespace, or a netns path (e.g. /run/netns/x)");
  app.add_option("--netns", a.netns_path, "network namespace path (instead of the positional target)");
  app.add_option("--userns", a.userns_path,
                 "user namespace to join first (default: the target's, or the netns owner's)");
  app.add_option("--tap", a.tap_name, "tap device name; an existing tap is attached to")->capture_default_str();
  app.add_flag("-c,--configure", a.configure,
               "configure the namespace: lo up, tap up with MTU/MAC, guest address, default route");
  app.add_option("-m,--mtu", a.mtu, "MTU of the tap (with --configure) and DHCP option 26")
      ->check(CLI::Range(68u, 65521u))
      ->capture_default_str();
  app.add_option("--cidr", a.cidr, "IPv4 network of the namespace (prefix 1..25)")->capture_default_str();
  app.add_flag("--disable-host-loopback", a.disable_host_loopback,
               "do not map the gateway address to the host's 127.0.0.1");
  app.add_option("--dns-upstream", a.dns_upstreams,
                 "upstream DNS server ADDR[:PORT] for the DNS address (repeatable; default: "
                 "nameservers of /etc/resolv.conf)")
      ->allow_extra_args(false);  // one address per --dns-upstream; the target follows
  app.add_flag("--disable-dns", a.disable_dns, "do not forward DNS (queries get SERVFAIL)");
  app.add_option("--mac", a.mac, "MAC address of the tap (with --configure)");
  app.add_option("-r,--ready-fd", a.ready_fd, "write \"1\" to this fd and close it once traffic flows");
  app.add_option("--pid-file", a.pid_file, "write netd's pid to this file (removed at exit)");
  app.add_option("--pcap", a.pcap, "write every frame crossing the tap to this pcap file");
  app.add_option("-p,--publish", a.publish,
                 "publish a TCP port: [HOSTIP:]HOSTPORT[-END]:GUESTPORT[-END][/tcp] (repeatable). The guest\n"
                 "sees each client's real address (loopback clients appear as the gateway)")
      ->allow_extra_args(false);
  app.add_flag("--no-offload", a.no_offload,
               "open the tap without virtio-net offloads (full checksums in --pcap captures; slower)");
  app.add_flag("--enable-sandbox,!--disable-sandbox", a.sandbox,
               "after start-up, run in an empty read-only root with no capabilities and no_new_privs\n"
               "(on by default; see docs/security.md)");
  app.add_flag("--enable-seccomp,!--disable-seccomp", a.seccomp,
               "after start-up, allow only the system calls netd needs; any other one stops netd with\n"
               "a log line naming it (on by default)");
  app.add_option("--log-level", a.log_level, "error, warn, info or debug")
      ->check(CLI::IsMember({"error", "warn", "info", "debug"}))
      ->capture_default_str();
  app.footer(
      "\nnetd exits 0 on SIGTERM/SIGINT and when the target goes away (the PID exits or\n"
      "the netns path is removed). SIGUSR1 logs every counter (frames, drops by reason,\n"
      "flows) as one JSON line. Exit status 1: start-up failed (the message says why);\n"
      "2: bad arguments.");
}

}  // namespace
}  // namespace netd::cmd

namespace netd::cli {

ParsedAttach parse_attach_args(int argc, char** argv, std::ostream& out, std::ostream& err) {
  ParsedAttach r;
  CLI::App app{"", "netd attach"};
  cmd::AttachArgs a;
  cmd::build_cli(app, a);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    r.exit_status = app.exit(e, out, err);
    return r;
  }
  r.level = log::parse_level(a.log_level);
  if (!a.netns_path.empty() && !a.target.empty()) {
    err << "netd attach: give either a positional target or --netns, not both\n";
    r.exit_status = 2;
    return r;
  }
  auto target = parse_target(a.netns_path.empty() ? a.target : a.netns_path, a.userns_path);
  if (!target) {
    err << "netd attach: " << target.error() << "\n";
    r.exit_status = 2;
    return r;
  }
  AttachConfig& cfg = r.cfg;
  cfg.prog = "netd attach";
  cfg.target = *target;
  cfg.tap_name = a.tap_name;
  cfg.configure = a.configure;
  cfg.mtu = a.mtu;
  cfg.cidr = a.cidr;
  cfg.disable_host_loopback = a.disable_host_loopback;
  cfg.dns_upstreams = a.dns_upstreams;
  cfg.disable_dns = a.disable_dns;
  cfg.mac = a.mac;
  cfg.ready_fd = a.ready_fd;
  cfg.pid_file = a.pid_file;
  cfg.pcap = a.pcap;
  cfg.no_offload = a.no_offload;
  cfg.publish = a.publish;
  cfg.sandbox = a.sandbox;
  cfg.seccomp = a.seccomp;
  return r;
}

}  // namespace netd::cli

namespace netd::cmd {

int attach(int argc, char** argv) {
  auto p = cli::parse_attach_args(argc, argv, std::cout, std::cerr);
  if (p.exit_status) return *p.exit_status;
  log::set_level(p.level);
  return run_attach(p.cfg);
}

}  // namespace netd::cmd
