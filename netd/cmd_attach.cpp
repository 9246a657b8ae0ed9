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
#include "netd/outbound_addr.h"
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
  std::string cidr6 = "fd00::/64";
  bool disable_ipv6 = false;
  std::vector<std::string> dns_search;
  bool disable_host_loopback = false;
  std::vector<std::string> dns_upstreams;
  bool disable_dns = false;
  std::string resolv_conf;
  std::string outbound_addr;
  std::string outbound_addr6;
  std::vector<std::string> map_guest_addr;
  std::string mac;
  int ready_fd = -1;
  std::string pid_file;
  std::string pcap;
  std::string log_level = "info";
  bool no_offload = false;
  unsigned queues = 1;
  std::vector<std::string> publish;
  std::string api_socket;
  bool sandbox = true;
  bool seccomp = true;
};

void build_cli(CLI::App& app, AttachArgs& a) {
  app.description(
      "Attach a TAP device inside a container's network namespace and translate its\n"
      "traffic (ARP, DHCP, NDP, DHCPv6, ICMP echo, UDP, TCP, DNS; IPv4 and IPv6) to\n"
      "ordinary sockets of the calling user. netd never enters the namespace itself:\n"
      "a short-lived child opens the tap there and hands it back.\n\n"
      "Addresses follow --cidr (default 10.0.2.0/24): gateway .2 (reaches the host's\n"
      "127.0.0.1 unless --disable-host-loopback), DNS forwarder .3, guest .100 (leased\n"
      "by DHCP, or set directly with --configure).\n\n"
      "IPv6 (unless --disable-ipv6) follows --cidr6 (default fd00::/64): gateway ::2\n"
      "(reaches the host's ::1 unless --disable-host-loopback), DNS forwarder ::3; the\n"
      "guest picks its own address by SLAAC from netd's router advertisements (from\n"
      "fe80::2, which is also its default route). On a host without IPv6, netd still\n"
      "starts and the guest gets ICMPv6 unreachable for outside destinations.");
  app.add_option("target", a.target, "PID of a process in the namespace, or a netns path (e.g. /run/netns/x)");
  app.add_option("--netns", a.netns_path, "network namespace path (instead of the positional target)");
  app.add_option("--userns", a.userns_path,
                 "user namespace to join first (default: the target's, or the netns owner's)");
  app.add_option("--tap", a.tap_name, "tap device name; an existing tap is attached to")->capture_default_str();
  app.add_flag("-c,--configure", a.configure,
               "configure the namespace: lo up, tap up with MTU/MAC, guest address, default route;\n"
               "IPv6: the tap accepts router advertisements and autoconfigures (SLAAC)");
  app.add_option("-m,--mtu", a.mtu, "MTU of the tap (with --configure) and DHCP option 26")
      ->check(CLI::Range(68u, 65521u))
      ->capture_default_str();
  app.add_option("--cidr", a.cidr, "IPv4 network of the namespace (prefix 1..25)")->capture_default_str();
  app.add_option("--cidr6", a.cidr6, "IPv6 prefix of the namespace (a /64, announced for SLAAC)")
      ->capture_default_str();
  app.add_flag("--disable-ipv6", a.disable_ipv6, "IPv4 only: drop the guest's IPv6 frames, send no RAs");
  app.add_option("--dns-search", a.dns_search, "DNS search domain handed out by DHCPv6 (repeatable)")
      ->allow_extra_args(false);
  app.add_flag("--disable-host-loopback", a.disable_host_loopback,
               "do not map the gateway addresses to the host's 127.0.0.1 and ::1");
  app.add_option("--dns-upstream", a.dns_upstreams,
                 "upstream DNS server ADDR[:PORT] for the DNS address (repeatable; default: "
                 "nameservers of /etc/resolv.conf)")
      ->allow_extra_args(false);  // one address per --dns-upstream; the target follows
  app.add_flag("--disable-dns", a.disable_dns, "do not forward DNS (queries get SERVFAIL)");
  app.add_option("--resolv-conf", a.resolv_conf,
                 "read the upstream DNS servers from this file instead of /etc/resolv.conf (or\n"
                 "$NETD_RESOLV_CONF), and follow its changes while running");
  app.add_option("--outbound-addr", a.outbound_addr,
                 "IPv4 source address (or an interface name: its first IPv4 address, followed) that\n"
                 "the host sockets of the guest's outbound TCP, UDP, ICMP and DNS bind to, as\n"
                 "slirp4netns' --outbound-addr; default: the kernel's choice per destination");
  app.add_option("--outbound-addr6", a.outbound_addr6,
                 "the same for IPv6 (an interface name: its first address that is not link-local)");
  app.add_option("--map-guest-addr", a.map_guest_addr,
                 "make ADDR (IPv4 or IPv6, at most one of each) lead to the host's own address: the\n"
                 "outbound interface's (--outbound-addr's, else the default route's), followed when it\n"
                 "changes; TCP, UDP and ICMP echo, replies come from ADDR (like pasta's option)")
      ->allow_extra_args(false);
  app.add_option("--mac", a.mac, "MAC address of the tap (with --configure)");
  app.add_option("-r,--ready-fd", a.ready_fd, "write \"1\" to this fd and close it once traffic flows");
  app.add_option("--pid-file", a.pid_file, "write netd's pid to this file (removed at exit)");
  app.add_option("--pcap", a.pcap, "write every frame crossing the tap to this pcap file");
  app.add_option("-p,--publish", a.publish,
                 "publish a port: [HOSTIP:]HOSTPORT[-END]:GUESTPORT[-END][/tcp|/udp] (repeatable; IPv6\n"
                 "host addresses in brackets). The guest sees each client's real address (loopback\n"
                 "clients appear as the gateway; IPv6 clients reach an IPv6 guest over IPv6, an\n"
                 "IPv4-only guest from the gateway); UDP replies leave from the published port")
      ->allow_extra_args(false);
  app.add_option("--api-socket", a.api_socket,
                 "serve the JSON control API on this unix socket (mode 0600): slirp4netns'\n"
                 "add_hostfwd/list_hostfwd/remove_hostfwd (published through the tap stack, client\n"
                 "addresses kept), list_flows, get_counters; see `netd ctl`");
  app.add_flag("--no-offload", a.no_offload,
               "open the tap without virtio-net offloads (full checksums in --pcap captures; slower)");
  app.add_option("--queues", a.queues,
                 "tap queues, each answered by its own thread and event loop (1..8; default 1, one\n"
                 "thread). More use more cores for parallel flows; a flow stays on one queue")
      ->check(CLI::Range(1u, 8u))
      ->capture_default_str();
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
  cfg.cidr6 = a.cidr6;
  cfg.ipv6 = !a.disable_ipv6;
  cfg.dns_search = a.dns_search;
  cfg.disable_host_loopback = a.disable_host_loopback;
  cfg.dns_upstreams = a.dns_upstreams;
  cfg.disable_dns = a.disable_dns;
  if (!a.resolv_conf.empty()) cfg.resolv_conf = a.resolv_conf;
  for (auto [text, fam] : {std::pair{&a.outbound_addr, net::IpFamily::V4},
                           std::pair{&a.outbound_addr6, net::IpFamily::V6}}) {
    if (text->empty()) continue;
    if (auto spec = classify_outbound(*text, fam); !spec) {
      err << "netd attach: " << spec.error() << "\n";
      r.exit_status = 2;
      return r;
    }
  }
  cfg.outbound_addr = a.outbound_addr;
  cfg.outbound_addr6 = a.outbound_addr6;
  for (const auto& text : a.map_guest_addr) {
    auto addr = net::IpAddr::parse(text);
    const bool again = addr && (addr->is_v4() ? cfg.map_guest_addr4.has_value() : cfg.map_guest_addr6.has_value());
    if (!addr || again) {
      err << "netd attach: --map-guest-addr " << text << ": "
          << (addr ? "given twice for one family (at most one IPv4 and one IPv6 address)" : "not an IP address")
          << "\n";
      r.exit_status = 2;
      return r;
    }
    if (addr->is_v4()) cfg.map_guest_addr4 = addr->v4();
    else cfg.map_guest_addr6 = addr->v6();
  }
  cfg.mac = a.mac;
  cfg.ready_fd = a.ready_fd;
  cfg.pid_file = a.pid_file;
  cfg.pcap = a.pcap;
  cfg.no_offload = a.no_offload;
  if (a.queues > 1 && !a.pcap.empty()) {
    err << "netd attach: --pcap records one queue's frames only: use it with --queues 1\n";
    r.exit_status = 2;
    return r;
  }
  cfg.queues = a.queues;
  cfg.publish = a.publish;
  cfg.api_socket = a.api_socket;
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
