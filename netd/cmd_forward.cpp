// `netd forward`: standalone port forwarding from host ports into a network
// namespace (a PID's or a netns file), without a tap. See
// docs/man/netd-forward.1.md and portfwd/forwarder.h for how it works.
//
// Start-up order: arguments, the namespace helper (it forks, so before any
// thread), every host socket bound; only then the pid file and the ready
// byte, so "ready" means every port accepts. A port still held by another
// process (an older netd forward of the same rules) is waited for, bounded
// (portfwd/port_holder.h).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <cstdio>
#include <string>
#include <vector>

#include "common/daemon.h"
#include "common/exit_cleanup.h"
#include "common/log.h"
#include "common/sandbox.h"
#include "netd/cli_parse.h"
#include "netd/commands.h"
#include "netd/target_arg.h"
#include "portfwd/forwarder.h"
#include "portfwd/ns_connector.h"
#include "portfwd/port_holder.h"
#include "portfwd/port_spec.h"

namespace netd::cmd {
namespace {

struct ForwardArgs {
  std::string target;
  std::string userns_path;
  std::vector<std::string> specs;
  std::string to = "127.0.0.1";
  int ready_fd = -1;
  int exit_fd = -1;
  std::string pid_file;
  unsigned udp_timeout = 60;
  std::string log_level = "info";
  bool sandbox = true;
  bool seccomp = true;
};

void build_cli(CLI::App& app, ForwardArgs& a) {
  app.description(
      "Forward host ports into a network namespace, without a tap device.\n"
      "Connections accepted on the host are connected again from inside the namespace\n"
      "(by a helper process that stays there; netd itself never enters it) and bytes\n"
      "move with splice(2) through pipes, driven by io_uring. UDP is forwarded per\n"
      "client address, with an idle timeout. The target sees a connection from inside\n"
      "its own namespace: the client's source address is not preserved.");
  app.add_option("target", a.target, "PID of a process in the namespace, or a netns path (e.g. /run/netns/x)")
      ->required();
  app.add_option("--userns", a.userns_path,
                 "user namespace to join first (default: the PID's, or the netns owner's)");
  app.add_option("-p,--publish", a.specs,
                 "[HOSTIP:]HOSTPORT[-END]:PORT[-END][/tcp|udp]: forward the host port(s) to PORT(s)\n"
                 "of --to inside the namespace (repeatable; IPv6 host addresses in brackets,\n"
                 "e.g. [::1]:8080:80; defaults: host address 0.0.0.0, tcp)")
      ->required()
      ->allow_extra_args(false);
  app.add_option("--to", a.to, "address inside the namespace to connect to")->capture_default_str();
  app.add_option("-r,--ready-fd", a.ready_fd, "write \"1\" to this fd and close it once every port is bound");
  app.add_option("-e,--exit-fd", a.exit_fd, "exit with status 0 when this fd reports hang-up (e.g. a pipe's "
                                            "writer closed)");
  app.add_option("--pid-file", a.pid_file, "write netd's pid to this file (removed at exit)");
  app.add_option("--udp-timeout", a.udp_timeout, "seconds after which an idle UDP flow is closed")
      ->check(CLI::Range(1u, 86400u))
      ->capture_default_str();
  app.add_option("--log-level", a.log_level, "error, warn, info or debug")
      ->check(CLI::IsMember({"error", "warn", "info", "debug"}))
      ->capture_default_str();
  app.add_flag("--enable-sandbox,!--disable-sandbox", a.sandbox,
               "once every port is bound, run in an empty read-only root with no capabilities and\n"
               "no_new_privs (on by default; see docs/security.md)");
  app.add_flag("--enable-seccomp,!--disable-seccomp", a.seccomp,
               "once every port is bound, allow only the system calls forwarding needs; any other one\n"
               "stops netd with a log line naming it (on by default)");
  app.footer("SIGTERM or SIGINT stop netd with exit status 0.");
}

}  // namespace
}  // namespace netd::cmd

namespace netd::cli {

ParsedForward parse_forward_args(int argc, char** argv, std::ostream& out, std::ostream& err) {
  ParsedForward r;
  CLI::App app{"", "netd forward"};
  cmd::ForwardArgs a;
  cmd::build_cli(app, a);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    r.exit_status = app.exit(e, out, err);
    return r;
  }
  r.level = log::parse_level(a.log_level);
  auto target = parse_target(a.target, a.userns_path);
  if (!target) {
    err << "netd forward: " << target.error() << "\n";
    r.exit_status = 2;
    return r;
  }
  auto to = net::IpAddr::parse(a.to);
  if (!to) {
    err << "netd forward: --to: '" << a.to << "' is not an IPv4 or IPv6 address\n";
    r.exit_status = 2;
    return r;
  }
  auto mappings = portfwd::parse_port_specs(a.specs);
  if (!mappings) {
    err << "netd forward: " << mappings.error() << "\n";
    r.exit_status = 2;
    return r;
  }
  for (const auto& m : *mappings) {
    portfwd::Forward rule = m;
    rule.id = r.rules.size() + 1;
    rule.guest_addr = *to;
    r.rules.push_back(rule);
  }
  r.target = *target;
  r.udp_timeout = a.udp_timeout;
  r.ready_fd = a.ready_fd;
  r.exit_fd = a.exit_fd;
  r.pid_file = a.pid_file;
  r.sandbox = a.sandbox;
  r.seccomp = a.seccomp;
  return r;
}

}  // namespace netd::cli

namespace netd::cmd {

int forward(int argc, char** argv) {
  auto p = cli::parse_forward_args(argc, argv, std::cout, std::cerr);
  if (p.exit_status) return *p.exit_status;
  log::set_level(p.level);
  const auto& rules = p.rules;
  auto connector = portfwd::NsConnector::start(p.target);
  if (!connector) {
    std::fprintf(stderr, "netd forward: %s\n", connector.error().c_str());
    return 1;
  }
  portfwd::ForwarderOptions fo;
  fo.udp_idle = seconds(p.udp_timeout);
  fo.exit_fd = p.exit_fd;
  auto fwd = portfwd::Forwarder::create(std::shared_ptr<portfwd::NsConnector>(std::move(*connector)), fo);
  if (!fwd) {
    std::fprintf(stderr, "netd forward: %s\n", fwd.error().c_str());
    return 1;
  }
  for (const auto& r : rules) {
    // A restarted forwarder's predecessor may still hold the port for a
    // moment: wait for it (bounded), else the error names the holder.
    auto sock = portfwd::open_host_socket_waiting(r.host_addr, r.host_port, r.proto, portfwd::kPortHandoverWait,
                                                  /*nonblocking=*/true);
    if (!sock) {
      std::fprintf(stderr, "netd forward: %s\n", sock.error().c_str());
      return 1;
    }
    if (auto ok = (*fwd)->adopt(r, std::move(*sock)); !ok) {
      std::fprintf(stderr, "netd forward: %s\n", ok.error().c_str());
      return 1;
    }
  }
  // The pid file is removed at exit by a helper outside the sandbox.
  ExitCleanup cleanup;
  if (!p.pid_file.empty()) {
    if (auto w = write_pid_file(p.pid_file); !w) {
      std::fprintf(stderr, "netd forward: %s\n", w.error().c_str());
      return 1;
    }
    auto c = ExitCleanup::start({p.pid_file});
    if (!c) {
      std::fprintf(stderr, "netd forward: exit clean-up helper: %s\n", c.error().c_str());
      ::unlink(p.pid_file.c_str());
      return 1;
    }
    cleanup = std::move(*c);
  }
  // Every port is bound, the ring exists and the namespace helper runs:
  // from here on forwarding needs only the fds it holds (no thread has
  // started: the forwarder runs on this one).
  if (p.sandbox || p.seccomp) {
    auto sb = enter_sandbox(SandboxOptions{p.sandbox, p.seccomp, kSeccompForward, {}});
    if (!sb) {
      std::fprintf(stderr, "netd forward: %s\n", sb.error().c_str());
      return 1;
    }
    LOG_INFO("sandbox: %s%s%s", p.sandbox ? "empty read-only root, no capabilities" : "no sandbox",
             sb->new_user_namespace ? " (own user namespace)" : "", sb->seccomp ? ", seccomp allow-list" : "");
  }
  LOG_INFO("forwarding %zu port(s) into %s", rules.size(), p.target.describe().c_str());
  signal_ready(p.ready_fd);
  int rc = (*fwd)->run();
  cleanup.finish();
  return rc;
}

}  // namespace netd::cmd
