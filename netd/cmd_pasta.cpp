// `netd pasta` (and argv[0] == "pasta"): pasta's command line and process
// contract on the attach engine. See docs/man/netd-pasta.1.md and
// docs/compat-pasta.md.
//
// Theory of operation: the options (netd/pasta_options.h) and the host's
// network (netd/host_network.h) make a plan (netd/pasta_plan.h): the copied
// address layout, the tap's addresses and routes, the DNS upstreams. Then,
// like pasta, the process splits unless -f: the parent waits on a pipe while
// the child (a new session) does all the work through run_attach(): opens and
// configures the tap, binds the forwarded ports, writes the --pid file and
// reports ready. Only then does the parent exit 0, so a container engine
// that reads the namespace's addresses right after finds them set; if the
// child fails first, the parent exits with the child's status, the child's
// message already on the shared stderr. Once ready, the child points its
// stdio at /dev/null (or the --log-file) and logs to syslog, so an engine
// that reads pasta's output until EOF is not held up. The child exits when
// the namespace file is deleted (unless --no-netns-quit), its target process
// exits, or on SIGTERM/SIGINT. Without --netns or a PID, netd starts the
// COMMAND (or a shell) in new namespaces (netd/pasta_command.h), stays in
// the foreground, and exits with the command's status.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "common/log.h"
#include "netd/attach_runner.h"
#include "netd/commands.h"
#include "netd/host_network.h"
#include "netd/pasta_command.h"
#include "netd/pasta_options.h"
#include "netd/pasta_outbound.h"
#include "netd/pasta_plan.h"
#include "netd/pasta_runtime.h"
#include "portfwd/fwd_spec.h"

namespace netd {
namespace {

std::string read_resolv_conf() {
  std::ifstream in(dns::resolv_conf_path());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The target namespace: --netns PATH (with --userns), or a PID. nullopt:
// neither, so pasta runs a command (or a shell) in new namespaces.
Expected<std::optional<NsTarget>, std::string> pasta_target(const PastaOptions& o) {
  NsTarget t;
  t.userns_path = o.userns;
  if (!o.netns.empty()) {
    if (!o.positional.empty()) return unexpected("Both --netns and PID or command given");
    t.netns_path = o.netns;
    return std::optional<NsTarget>(t);
  }
  if (o.positional.size() != 1) return std::optional<NsTarget>();
  const std::string& p = o.positional[0];
  long pid = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), pid);
  if (ec != std::errc{} || end != p.data() + p.size()) return std::optional<NsTarget>();  // a command
  if (pid < 1 || pid > 0x3fffffff) return unexpected("Invalid PID: " + p);
  t.pid = static_cast<pid_t>(pid);
  return std::optional<NsTarget>(t);
}

// The forwarding tables from -t/-u/-T/-U, as pasta builds them (absent
// options mean 'auto'). The outbound table (namespace loopback ports to the
// host's) keeps its explicit rules; 'auto' (pasta's default) is none in netd.
Expected<portfwd::FwdTables, std::string> pasta_tables(const PastaOptions& o, const tap::StackConfig& stack) {
  std::vector<std::pair<char, std::string>> opts;
  for (const auto& p : o.ports) opts.emplace_back(p.opt, p.spec);
  uint32_t caps = portfwd::FwdCap::kTcp | portfwd::FwdCap::kUdp | portfwd::FwdCap::kScan;
  if (stack.ipv4) caps |= portfwd::FwdCap::kIpv4;
  if (stack.ipv6) caps |= portfwd::FwdCap::kIpv6;
  if (portfwd::probe_bind_to_device()) caps |= portfwd::FwdCap::kIfname;
  std::string warning;
  std::vector<std::string> warnings;
  const portfwd::PortRange ephemeral = portfwd::read_ephemeral_ports(&warning);
  if (!warning.empty()) LOG_WARN("%s", warning.c_str());
  auto t = portfwd::build_pasta_tables(opts, caps, ephemeral, &warnings);
  if (!t) return unexpected(t.error());
  // The only warning (-T/-U without SO_BINDTODEVICE: loopback addresses
  // only) describes what netd does in any case (netd/pasta_outbound.h).
  for (const auto& w : warnings) LOG_DEBUG("%s", w.c_str());
  if (drop_outbound_auto(t->outbound))
    LOG_INFO("-T/-U auto (pasta's default): namespace ports are not forwarded to the host by netd");
  return t;
}

// Splits like pasta: returns in the child (true) with `ready_fd` set to the
// pipe the child reports readiness on; the parent never returns: it exits 0
// once the child is ready, else with the child's status.
bool split_process(int* ready_fd) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    std::fprintf(stderr, "Failed to create a pipe: %s\n", std::strerror(errno));
    std::exit(1);
  }
  std::fflush(nullptr);
  pid_t child = ::fork();
  if (child < 0) {
    std::fprintf(stderr, "Failed to fork: %s\n", std::strerror(errno));
    std::exit(1);
  }
  if (child == 0) {
    ::close(fds[0]);
    ::setsid();  // a session of its own: the engine's terminal signals are not ours
    *ready_fd = fds[1];
    return true;
  }
  ::close(fds[1]);
  char byte = 0;
  ssize_t n;
  do {
    n = ::read(fds[0], &byte, 1);
  } while (n < 0 && errno == EINTR);
  if (n == 1) std::_Exit(0);
  // No ready byte: the child failed (its message is on our shared stderr).
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) std::_Exit(WEXITSTATUS(status) ? WEXITSTATUS(status) : 1);
  std::fprintf(stderr, "netd pasta: the engine process died (signal %d) before it was ready\n",
               WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  std::_Exit(1);
}

// What `netd attach` is to do for this pasta: the plan's stack and tap, its
// DNS upstreams and outbound addresses, and pasta's forwarding tables and
// control socket (PastaRuntime, an extension of the attach loop).
Expected<AttachConfig, std::string> attach_config(const PastaOptions& o, const PastaPlan& plan,
                                                  const NsTarget& target) {
  AttachConfig a;
  a.prog = "pasta";
  a.arg_error_status = 1;
  a.target = target;
  a.tap_name = plan.tap.name;
  a.mtu = plan.stack.mtu;
  a.stack = plan.stack;
  a.tap = plan.tap;
  a.disable_dns = plan.dns_upstreams.empty();
  for (const auto& s : plan.dns_upstreams) a.dns_upstreams.push_back(dns::to_string(s));
  // Without --dns-host the upstreams are resolv.conf's: follow its changes.
  a.dns_upstreams_from_resolv_conf = !o.dns_host4 && !o.dns_host6;
  a.outbound_addr = plan.outbound4;
  a.outbound_addr6 = plan.outbound6;
  a.pid_file = o.pid_file;
  a.pcap = o.pcap;
  if (o.queues > 1 && !o.pcap.empty())
    return unexpected(std::string("--pcap records one queue's frames only: use it with --queues 1"));
  a.queues = o.queues;
  a.watch_target = !o.no_netns_quit || a.target.pid;
  // Confined like pasta itself, always: the namespace's /proc files, the
  // ports, the configuration socket and the log are all open before.
  a.sandbox = true;
  a.seccomp = true;
  auto tables = pasta_tables(o, plan.stack);
  if (!tables) return unexpected(tables.error());
  PastaRuntimeOptions ro;
  ro.tables = std::move(*tables);
  ro.target = a.target;
  ro.control_socket = o.control_socket;
  a.extend = [ro](tap::Dataplane& dp, const tap::StackConfig& cfg, portfwd::ControlQueue& q)
      -> Expected<std::unique_ptr<AttachExtension>, std::string> {
    auto rt = PastaRuntime::create(ro, dp, cfg, q);
    if (!rt) return unexpected(rt.error());
    return std::unique_ptr<AttachExtension>(std::move(*rt));
  };
  return a;
}

}  // namespace

namespace cmd {

int pasta(int argc, char** argv) {
  log::set_program("pasta");
  // Nothing inherited beyond stdio: a daemon holding a caller's pipe would
  // keep that caller waiting for end of file (pasta closes them too).
  ::close_range(3, ~0U, 0);
  const char* argv0 = argc > 0 ? argv[0] : "pasta";
  PastaOptions o = parse_pasta_args(argc, argv);
  switch (o.action) {
    case PastaOptions::Action::Help:
      std::fputs(pasta_usage(argv0).c_str(), stdout);
      return 0;
    case PastaOptions::Action::Version:
      std::fputs(pasta_version().c_str(), stdout);
      return 0;
    case PastaOptions::Action::Error:
      if (o.usage) std::fputs(pasta_usage(argv0).c_str(), stderr);
      else std::fprintf(stderr, "%s\n", o.error.c_str());
      return 1;
    case PastaOptions::Action::Run:
      break;
  }
  if (o.trace || o.debug) log::set_level(log::Level::Debug);
  else if (o.quiet) log::set_level(log::Level::Warn);
  // -l: every line from now on goes to the file (pasta logs only there).
  if (!o.log_file.empty()) {
    int fd = ::open(o.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
      std::fprintf(stderr, "Couldn't open log file %s: %s\n", o.log_file.c_str(), std::strerror(errno));
      return 1;
    }
    ::dup2(fd, STDERR_FILENO);
    ::close(fd);
  }
  for (const auto& name : o.ignored) LOG_INFO("%s: accepted, no effect in netd", name.c_str());

  auto target = pasta_target(o);
  if (!target) {
    std::fprintf(stderr, "%s\n", target.error().c_str());
    return 1;
  }
  // No namespace given: a command in new namespaces, in the foreground.
  std::optional<PastaCommand> command;
  if (!*target) {
    if (!o.debug) log::set_level(log::Level::Warn);  // the terminal is the command's
    auto c = PastaCommand::spawn(o.positional);
    if (!c) {
      std::fprintf(stderr, "%s\n", c.error().c_str());
      return 1;
    }
    command = std::move(*c);
    NsTarget t;
    t.pid = command->pid();
    *target = t;
    o.foreground = true;
  }
  auto host = read_host_network();
  if (!host) {
    std::fprintf(stderr, "Couldn't read the host's network: %s\n", host.error().c_str());
    return 1;
  }
  auto plan = make_pasta_plan(o, *host, dns::parse_resolv_conf(read_resolv_conf()));
  if (!plan) {
    std::fprintf(stderr, "%s\n", plan.error().c_str());
    return 1;
  }
  for (const auto& n : plan->notes) LOG_INFO("%s", n.c_str());

  auto config = attach_config(o, *plan, **target);
  if (!config) {
    std::fprintf(stderr, "%s\n", config.error().c_str());
    return 1;
  }
  AttachConfig& a = *config;

  if (!o.foreground) {
    // Opened now: after the sandbox there is no /dev to open it from.
    int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd < 0) {
      std::fprintf(stderr, "Couldn't open /dev/null: %s\n", std::strerror(errno));
      return 1;
    }
    split_process(&a.ready_fd);
    const bool keep_stderr = !o.log_file.empty();
    if (!keep_stderr && !log::connect_syslog()) LOG_DEBUG("no system log (/dev/log): quiet once ready");
    a.on_ready = [null_fd, keep_stderr] {
      // Ready: stop holding the engine's pipes (it reads our output until EOF).
      ::dup2(null_fd, STDIN_FILENO);
      ::dup2(null_fd, STDOUT_FILENO);
      if (!keep_stderr) {
        log::use_syslog();
        ::dup2(null_fd, STDERR_FILENO);
      }
      ::close(null_fd);
    };
  }
  if (command) {
    a.on_ready = [&command] { command->go(); };
    int rc = run_attach(a);
    int status = command->finish();
    return rc != 0 ? rc : status;  // the command's status, as pasta returns it
  }
  return run_attach(a);
}

}  // namespace cmd
}  // namespace netd
