// `netd dns` / argv[0] `aardvark-dns`: the embedded DNS server with
// aardvark-dns' command line, config directory and daemon protocol
// (docs/man/netd-dns.1.md).
//
// Theory of operation: parse the command line, read the config directory and
// the upstreams (--upstream, else /etc/resolv.conf). Unless --foreground, fork:
// the parent waits on a pipe until the child has bound every listen address
// and written DIR/aardvark.pid, then exits 0 (or prints the child's error and
// exits 1); the child calls setsid(), points stdio at /dev/null and serves.
// SIGHUP re-reads the directory and hands the new table to Server::apply
// (sockets for addresses that stay are kept); with no address left, the pid
// file is removed and the process exits 0. SIGTERM/SIGINT: remove the pid
// file, exit 0.
//
// Native mode (--netd-runtime): instead of an aardvark config directory the
// server reads netd's own networks and their members
// (bridge/dns_registration.h); `netd network` starts it inside the rootless
// netns and acknowledges each reload through dns.reload/dns.applied
// (bridge/dns_service.h). The pid file is then RUNTIME/dns.pid.
#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bridge/dns_registration.h"
#include "bridge/dns_service.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/sandbox.h"
#include "dns/aardvark_config.h"
#include "dns/names.h"
#include "dns/server.h"
#include "netd/commands.h"

#ifndef NETD_VERSION
#define NETD_VERSION "0.1.0"
#endif

namespace netd::cmd {

void (*dns_after_sandbox)() = nullptr;

namespace {

namespace asio = boost::asio;
using dns::NameTable;
using dns::UpstreamServer;

struct DnsArgs {
  std::string config;
  uint16_t port = 5533;
  std::string filter = ".dns.podman";
  bool foreground = false;
  std::vector<std::string> upstreams;
  uint32_t ttl = 0;
  bool no_cache = false;
  bool upstream_udp_only = false;
  int upstream_timeout_ms = 700;
  std::string log_level = "info";
  std::string log_file;      // daemon's stdout/stderr (default /dev/null)
  std::string netd_config;   // native mode: netd's network definitions
  std::string netd_runtime;  // native mode (when set): netd's runtime dir
  bool sandbox = true;       // common/sandbox.h, once every address is bound
  bool seccomp = true;       // the dns allow-list (common/seccomp_filter.h)

  bool native() const { return !netd_runtime.empty(); }
  bridge::Paths paths() const {
    bridge::Paths p = bridge::default_paths();
    if (!netd_config.empty()) p.config_dir = netd_config;
    p.runtime_dir = netd_runtime;
    return p;
  }
};

std::vector<UpstreamServer> default_upstreams(const DnsArgs& a, std::string* err) {
  std::vector<UpstreamServer> out;
  if (!a.upstreams.empty()) {
    for (const auto& s : a.upstreams) {
      auto u = dns::parse_upstream(s);
      if (!u) {
        *err = u.error();
        return {};
      }
      out.push_back(*u);
    }
    return out;
  }
  std::ifstream in("/etc/resolv.conf");
  std::stringstream ss;
  if (in) ss << in.rdbuf();
  out = dns::parse_resolv_conf(ss.str());
  // A resolver on our own listen port would loop; 127.0.0.53 (systemd-resolved) is fine.
  return out;
}

Expected<std::shared_ptr<const NameTable>, std::string> load_table(const DnsArgs& a) {
  std::vector<std::string> warnings;
  auto nets = a.native() ? bridge::load_dns_configs(a.paths(), warnings) : dns::load_config_dir(a.config, warnings);
  for (const auto& w : warnings) LOG_WARN("%s", w.c_str());
  if (!nets) return unexpected(nets.error());
  return std::shared_ptr<const NameTable>(std::make_shared<NameTable>(std::move(*nets)));
}

std::string pid_path(const DnsArgs& a) { return a.native() ? a.paths().dns_pid_file() : a.config + "/aardvark.pid"; }
std::string config_name(const DnsArgs& a) { return a.native() ? "netd's networks in " + a.netd_runtime : a.config; }

// The sandbox of a running server: an empty root but for what a reload
// reads and the pid file's directory (the configuration directory, or
// netd's config and runtime directories), and resolv.conf when it is the
// source of the default upstreams, each at its own path.
SandboxOptions sandbox_options(const DnsArgs& a) {
  SandboxOptions o{a.sandbox, a.seccomp, kSeccompDns, {}};
  if (!a.sandbox) return o;
  if (a.native()) {
    o.keep_paths = {a.paths().config_dir, a.netd_runtime};
  } else {
    o.keep_paths = {a.config};
  }
  if (a.upstreams.empty() && ::access("/etc/resolv.conf", R_OK) == 0) o.keep_paths.push_back("/etc/resolv.conf");
  for (auto& p : o.keep_paths) {
    char* real = ::realpath(p.c_str(), nullptr);  // the sandbox wants absolute paths without ".."
    if (real && p != "/etc/resolv.conf") p = real;
    std::free(real);
  }
  return o;
}

// Reports start-up to the waiting parent (no-op in the foreground).
struct StartupPipe {
  int fd = -1;
  void report(const std::string& msg) {
    if (fd < 0) return;
    (void)!::write(fd, msg.data(), msg.size());
    ::close(fd);
    fd = -1;
  }
};

int fail(StartupPipe& p, const std::string& msg) {
  LOG_ERROR("%s", msg.c_str());
  p.report(msg);
  return 1;
}

// Parent side of the daemon protocol: wait for "ok" or an error text.
int wait_for_child(int rfd, pid_t child) {
  std::string msg;
  char buf[512];
  for (;;) {
    ssize_t n = ::read(rfd, buf, sizeof buf);
    if (n > 0) {
      msg.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  ::close(rfd);
  if (msg == "ok") return 0;
  if (msg.empty()) std::fprintf(stderr, "aardvark-dns: the server (pid %d) exited during start-up\n", int(child));
  // The child already logged the error on our shared stderr.
  return 1;
}

int run(const DnsArgs& a, const char* prog) {
  std::string err;
  auto ups = default_upstreams(a, &err);
  if (!err.empty()) {
    std::fprintf(stderr, "%s: %s\n", prog, err.c_str());
    return 1;
  }
  auto table = load_table(a);
  if (!table) {
    std::fprintf(stderr, "%s: %s\n", prog, table.error().c_str());
    return 1;
  }
  if ((*table)->listen_addresses().empty()) {
    LOG_INFO("no listen addresses in %s, nothing to do", config_name(a).c_str());
    return 0;
  }
  if (ups.empty()) LOG_WARN("no upstream DNS servers: only container names will resolve");

  StartupPipe pipe_out;
  if (!a.foreground) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) {
      std::fprintf(stderr, "%s: pipe: %s\n", prog, std::strerror(errno));
      return 1;
    }
    std::fflush(nullptr);
    pid_t child = ::fork();
    if (child < 0) {
      std::fprintf(stderr, "%s: fork: %s\n", prog, std::strerror(errno));
      return 1;
    }
    if (child > 0) {
      ::close(p[1]);
      return wait_for_child(p[0], child);
    }
    ::close(p[0]);
    pipe_out.fd = p[1];
    ::setsid();
  }

  asio::io_context io;
  dns::ServerOptions so;
  so.port = a.port;
  so.engine.search_domain = a.filter;
  so.engine.ttl = a.ttl;
  so.engine.cache = !a.no_cache;
  so.engine.default_upstreams = ups;
  so.upstream_timeout = std::chrono::milliseconds(a.upstream_timeout_ms);
  so.default_upstreams_udp_only = a.upstream_udp_only;
  dns::Server server(io, so);
  auto bind_errors = server.apply(*table);
  if (!bind_errors.empty()) return fail(pipe_out, bind_errors.front());
  // aardvark-dns' pid file holds the number alone (no newline).
  if (auto w = write_pid_file(pid_path(a), false); !w) return fail(pipe_out, w.error());

  if (!a.foreground) {
    int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    int out = a.log_file.empty() ? devnull : ::open(a.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (devnull >= 0) ::dup2(devnull, 0);
    if (out >= 0) {
      ::dup2(out, 1);
      ::dup2(out, 2);
    }
    if (out >= 0 && out != devnull) ::close(out);
    if (devnull >= 0) ::close(devnull);
  }
  // Made before the sandbox: Asio's signal handling opens a pipe on first use.
  asio::signal_set signals(io, SIGHUP, SIGTERM, SIGINT);
  if (a.sandbox || a.seccomp) {
    auto sb = enter_sandbox(sandbox_options(a));
    if (!sb) return fail(pipe_out, sb.error());
    LOG_INFO("sandbox: %s%s%s", a.sandbox ? "a read-only root holding only the configuration, no capabilities" : "no sandbox",
             sb->new_user_namespace ? " (own user namespace)" : "", sb->seccomp ? ", seccomp allow-list" : "");
  }
  if (dns_after_sandbox) dns_after_sandbox();
  pipe_out.report("ok");

  int status = 0;
  std::function<void(const boost::system::error_code&, int)> on_signal;
  on_signal = [&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (sig != SIGHUP) {
      LOG_INFO("signal %d: exiting", sig);
      ::unlink(pid_path(a).c_str());
      io.stop();
      return;
    }
    // Native mode: the request number is read before the table, so the
    // acknowledgement covers every change made before it was requested.
    uint64_t request = a.native() ? bridge::dns_reload_requested(a.paths()) : 0;
    auto next = load_table(a);
    if (!next) {
      LOG_WARN("reload: %s; keeping the old configuration", next.error().c_str());
    } else if ((*next)->listen_addresses().empty()) {
      LOG_INFO("reload: no listen addresses left, exiting");
      ::unlink(pid_path(a).c_str());
      io.stop();
      return;
    } else {
      if (a.upstreams.empty()) {
        std::string e2;
        auto u = default_upstreams(a, &e2);
        if (!u.empty()) server.set_default_upstreams(std::move(u));
      }
      for (const auto& e : server.apply(*next)) LOG_WARN("reload: %s", e.c_str());
      LOG_INFO("reloaded: %zu networks, %zu listeners", (*next)->networks().size(), server.listener_count());
      if (a.native()) bridge::dns_reload_applied(a.paths(), request);
    }
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);
  io.run();
  return status;
}

}  // namespace

int dns(int argc, char** argv) {
  std::string_view self = argv[0];
  bool aardvark = self.find("aardvark-dns") != std::string_view::npos;
  log::set_program(aardvark ? "aardvark-dns" : "netd-dns");
  const char* prog = aardvark ? "aardvark-dns" : "netd dns";

  DnsArgs a;
  CLI::App app{
      "Embedded DNS server for container networks, compatible with aardvark-dns.\n"
      "Answers A/AAAA/PTR for container names and aliases on the networks the querying\n"
      "container is on (by source address; names are case-insensitive and may carry the\n"
      "search domain), returns NXDOMAIN for unknown names under the search domain, and\n"
      "forwards everything else to the upstream servers (per container, per network, then\n"
      "--upstream or the first 3 nameservers of /etc/resolv.conf) with c-ares. Upstream\n"
      "answers are cached according to their TTLs. A dead upstream is answered SERVFAIL\n"
      "within timeout*2 (1.4 s by default).\n"
      "\n"
      "Config directory (written by netavark): one file per network (NAME or NAME%int);\n"
      "line 1: 'gw_ip[,gw_ip...][ upstream[,...]]'; other lines:\n"
      "'ctr_id v4[,...] v6[,...] name[,alias...][ upstream[,...]]'.\n"
      "'run' daemonizes: the parent exits 0 once the server listens on every gateway and\n"
      "has written DIR/aardvark.pid, or 1 with the error. SIGHUP reloads the directory\n"
      "(keeping sockets of addresses that stay); with no address left the server exits.",
      prog};
  app.set_version_flag("-V,--version", std::string(prog) + " " + NETD_VERSION);
  app.add_option("-c,--config", a.config, "Config directory (aardvark-dns format)");
  app.add_option("-p,--port", a.port, "Port to listen on (UDP and TCP)")->default_val(5533);
  app.add_option("-f,--filter-search-domain", a.filter, "Search domain stripped from queries; unknown names under it get NXDOMAIN")
      ->default_val(".dns.podman");
  app.add_flag("--foreground", a.foreground, "(netd) Do not daemonize; log to stderr");
  app.add_option("--upstream", a.upstreams,
                 "(netd) Default upstream ADDR[:PORT] (IPv6 as [ADDR]:PORT); repeatable; replaces /etc/resolv.conf")
      ->take_all();
  app.add_option("--ttl", a.ttl, "(netd) TTL of answers for container names, seconds")->default_val(0);
  app.add_flag("--no-cache", a.no_cache, "(netd) Do not cache upstream answers");
  app.add_flag("--upstream-udp-only", a.upstream_udp_only,
               "(netd) Ask the --upstream/resolv.conf servers over UDP even for TCP queries (for a forwarder "
               "that only speaks UDP)");
  app.add_option("--upstream-timeout", a.upstream_timeout_ms, "(netd) Per-attempt upstream timeout, ms (2 attempts)")
      ->default_val(700)
      ->check(CLI::Range(10, 10000));
  app.add_flag("--enable-sandbox,!--disable-sandbox", a.sandbox,
               "(netd) Once listening, run in a read-only root holding only the configuration (and\n"
               "resolv.conf), with no capabilities and no_new_privs (on by default; docs/security.md)");
  app.add_flag("--enable-seccomp,!--disable-seccomp", a.seccomp,
               "(netd) Once listening, allow only the system calls the server needs (on by default)");
  app.add_option("--log-file", a.log_file, "(netd) Where the daemon logs (default: nowhere, /dev/null)");
  app.add_option("--netd-runtime", a.netd_runtime,
                 "(netd) Serve netd's own networks (netd network) instead of --config: their runtime dir; "
                 "the pid file is DIR/dns.pid");
  app.add_option("--netd-config", a.netd_config,
                 "(netd) With --netd-runtime: the network definitions dir (default as netd network)");
  auto* level_opt = app.add_option("--log-level", a.log_level,
                                   "(netd) error, warn, info or debug (default: info in the foreground, warn as a daemon)")
      ->check(CLI::IsMember({"error", "warn", "info", "debug"}));
  auto* run_cmd = app.add_subcommand("run", "Start the server (daemonizes unless --foreground)");
  auto* version_cmd = app.add_subcommand("version", "Print the version as JSON");
  auto* help_cmd = app.add_subcommand("help", "Print this help");
  app.require_subcommand(1);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);   // prints help/version (0) or the error
    return rc == 0 ? 0 : 2;
  }
  if (!a.foreground && level_opt->count() == 0) a.log_level = "warn";
  if (a.log_level == "error") log::set_level(log::Level::Error);
  if (a.log_level == "warn") log::set_level(log::Level::Warn);
  if (a.log_level == "debug") log::set_level(log::Level::Debug);

  if (*help_cmd) {   // app.help() would describe the subcommand itself
    std::fputs(app.get_formatter()->make_help(&app, app.get_name(), CLI::AppFormatMode::Normal).c_str(), stdout);
    return 0;
  }
  if (*version_cmd) {
#if defined(__x86_64__)
    const char* target = "x86_64-unknown-linux-gnu";
#elif defined(__aarch64__)
    const char* target = "aarch64-unknown-linux-gnu";
#else
    const char* target = "unknown-linux-gnu";
#endif
    // aardvark-dns' shape: these keys in this order, two-space indent.
    nlohmann::ordered_json v = {{"version", NETD_VERSION}, {"commit", "netd"}, {"build_time", ""}, {"target", target}};
    std::printf("%s\n", v.dump(2).c_str());
    return 0;
  }
  if (*run_cmd) {
    if (a.config.empty() && !a.native()) {
      std::fprintf(stderr, "%s: run needs --config DIR\n", prog);
      return 1;
    }
    return run(a, prog);
  }
  return 1;
}

}  // namespace netd::cmd
