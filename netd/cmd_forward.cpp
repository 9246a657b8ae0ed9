// `netd forward`: standalone port forwarding from host ports into a network
// namespace (a PID's or a netns file), without a tap. See
// docs/man/netd-forward.1.md and portfwd/forwarder.h for how it works.
//
// Start-up order: arguments, the namespace helper (it forks, so before any
// thread), every host socket bound; only then the pid file and the ready
// byte, so "ready" means every port accepts.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "common/log.h"
#include "netd/commands.h"
#include "netd/target_arg.h"
#include "portfwd/forwarder.h"
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
  app.footer("SIGTERM or SIGINT stop netd with exit status 0.");
}

}  // namespace

int forward(int argc, char** argv) {
  CLI::App app{"", "netd forward"};
  ForwardArgs a;
  build_cli(app, a);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  log::set_level(log::parse_level(a.log_level));

  auto target = cli::parse_target(a.target, a.userns_path);
  if (!target) {
    std::fprintf(stderr, "netd forward: %s\n", target.error().c_str());
    return 2;
  }
  auto to = portfwd::IpAddress::parse(a.to);
  if (!to) {
    std::fprintf(stderr, "netd forward: --to: '%s' is not an IPv4 or IPv6 address\n", a.to.c_str());
    return 2;
  }
  auto mappings = portfwd::parse_port_specs(a.specs);
  if (!mappings) {
    std::fprintf(stderr, "netd forward: %s\n", mappings.error().c_str());
    return 2;
  }
  std::vector<portfwd::ForwardRule> rules;
  for (const auto& m : *mappings) {
    portfwd::ForwardRule r;
    r.id = rules.size() + 1;
    r.proto = m.proto;
    r.host_addr = m.host_addr;
    r.host_port = m.host_port;
    r.target_addr = *to;
    r.target_port = m.ctr_port;
    rules.push_back(r);
  }

  auto connector = portfwd::NsConnector::start(*target);
  if (!connector) {
    std::fprintf(stderr, "netd forward: %s\n", connector.error().c_str());
    return 1;
  }
  portfwd::ForwarderOptions fo;
  fo.udp_idle = seconds(a.udp_timeout);
  fo.exit_fd = a.exit_fd;
  auto fwd = portfwd::Forwarder::create(std::shared_ptr<portfwd::NsConnector>(std::move(*connector)), fo);
  if (!fwd) {
    std::fprintf(stderr, "netd forward: %s\n", fwd.error().c_str());
    return 1;
  }
  for (const auto& r : rules) {
    auto ok = (*fwd)->add(r);
    if (!ok) {
      std::fprintf(stderr, "netd forward: %s\n", ok.error().c_str());
      return 1;
    }
  }
  if (!a.pid_file.empty()) {
    FILE* f = std::fopen(a.pid_file.c_str(), "we");
    if (!f) {
      std::fprintf(stderr, "netd forward: cannot write pid file %s: %m\n", a.pid_file.c_str());
      return 1;
    }
    std::fprintf(f, "%d\n", static_cast<int>(::getpid()));
    std::fclose(f);
  }
  LOG_INFO("forwarding %zu port(s) into %s", rules.size(), target->describe().c_str());
  if (a.ready_fd >= 0) {
    if (::write(a.ready_fd, "1", 1) != 1) LOG_WARN("cannot write to ready fd %d: %m", a.ready_fd);
    ::close(a.ready_fd);
  }
  int rc = (*fwd)->run();
  if (!a.pid_file.empty()) ::unlink(a.pid_file.c_str());
  return rc;
}

}  // namespace netd::cmd
