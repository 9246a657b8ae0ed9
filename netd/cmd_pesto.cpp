// `netd pesto` (and argv[0] == "pesto"): the client of pasta's configuration
// socket, with pesto's command line. See docs/man/netd-pesto.1.md and
// docs/compat-pesto.md.
//
// Theory of operation: getopt_long reads the options once and keeps the
// table-changing ones (-A, -D, -C, -t, -u, -T, -U) in order. pesto then
// connects to PATH, reads the server's hello and tables
// (portfwd/pesto_wire.h), and, if nothing is to change, prints the tables
// and closes. Otherwise it replays the kept options against its copy of the
// tables, like a little program: -A and -D switch between adding and
// deleting; before either was given, the first -t/-u empties the inbound
// table and the first -T/-U the outbound one (a spec replaces the table);
// -C NAME empties a table by name. Each spec is applied with pasta's rules
// (portfwd/fwd_spec.h), so a conflict or a bad spec stops pesto before it
// sends anything. Finally it sends every table back and closes; the server
// answers nothing. Errors are one line on stderr and exit status 1; usage
// errors print the usage too.
#include <getopt.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "netd/commands.h"
#include "portfwd/fwd_spec.h"
#include "portfwd/pesto_wire.h"

namespace netd {
namespace {

namespace pesto = portfwd::pesto;

// How long pesto waits for the server's tables.
constexpr int kServerTimeoutMs = 10000;

void print_usage(const char* argv0, FILE* f) {
  std::fprintf(f, "Usage: %s [OPTION]... PATH\n", argv0);
  std::fputs(
      "Show or change the port forwarding tables of a running pasta (netd pasta -c PATH).\n"
      "\n"
      "  -A, --add              add the specs that follow to the tables\n"
      "  -D, --delete           delete the specs that follow from the tables\n"
      "  -C, --clear PIF        empty the table PIF (HOST: inbound, SPLICE: outbound)\n"
      "  -t, --tcp-ports SPEC   TCP ports into the namespace (inbound); may be repeated\n"
      "  -u, --udp-ports SPEC   UDP ports into the namespace (inbound)\n"
      "  -T, --tcp-ns SPEC      TCP ports from the namespace to the host (outbound)\n"
      "  -U, --udp-ns SPEC      UDP ports from the namespace to the host (outbound)\n"
      "  -s, --show             show the tables before and after the change\n"
      "  -d, --debug            print debugging messages\n"
      "  -h, --help             show this help and exit\n"
      "  --version              show the version and exit\n"
      "\n"
      "Without -A, -D or -C, the first -t/-u replaces the inbound table and the first\n"
      "-T/-U the outbound one. Without any change, pesto prints the tables.\n"
      "\n"
      "SPEC is 'none' or [ADDR[%IFNAME]/]PORTS, PORTS a comma-separated list of:\n"
      "  FIRST[-LAST][:TFIRST[-TLAST]]    ports (to other target ports)\n"
      "  FIRST[-LAST]:TADDR[/TFIRST[-TLAST]]  ports to a target address\n"
      "  ~FIRST[-LAST]                    ports excluded from the others\n"
      "  all[:TADDR]                      every port that is not ephemeral\n"
      "  auto                             only ports bound on the target side\n"
      "Only exclusions, 'all' or 'auto' without port ranges: every non-ephemeral port.\n"
      "Examples: -t 8080   -t 127.0.0.1/8080:80   -t [::]/8000-8010   -t 22,~25   -u auto\n",
      f);
}

struct Step {
  char option;
  std::string arg;
};

const char* caps_text(uint32_t caps, std::string& out) {
  static const std::pair<uint32_t, const char*> kNames[] = {
      {portfwd::FwdCap::kIpv4, " IPv4"}, {portfwd::FwdCap::kIpv6, " IPv6"}, {portfwd::FwdCap::kTcp, " TCP"},
      {portfwd::FwdCap::kUdp, " UDP"},   {portfwd::FwdCap::kScan, " scan"}, {portfwd::FwdCap::kIfname, " ifname"}};
  out.clear();
  for (const auto& [bit, name] : kNames)
    if (caps & bit) out += name;
  return out.c_str();
}

void show(const std::vector<pesto::PifTable>& tables) {
  for (const auto& t : tables) {
    std::printf("  %s\n", t.name.c_str());
    for (const auto& r : t.table.rules) std::printf("    %s\n", r.to_string().c_str());
  }
  std::fflush(stdout);
}

int fail(const std::string& msg) {
  std::fprintf(stderr, "pesto: %s\n", msg.c_str());
  return 1;
}

// Reads until the server's message is complete; the tables, or an error.
Expected<std::vector<pesto::PifTable>, std::string> read_tables(int fd) {
  std::vector<std::byte> buf(pesto::kMaxServerMessage);
  size_t have = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kServerTimeoutMs);
  for (;;) {
    auto d = pesto::decode_server_message(std::span(buf.data(), have));
    if (d.status == pesto::DecodeStatus::Complete) return std::move(d.value);
    if (d.status == pesto::DecodeStatus::Malformed) return unexpected(d.error);
    if (have == buf.size()) return unexpected(std::string("the server's tables are larger than the protocol allows"));
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    int n = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return unexpected(std::string("timed out waiting for the server's tables"));
    ssize_t got = ::recv(fd, buf.data() + have, buf.size() - have, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return unexpected(std::string("error reading from the configuration socket: ") + std::strerror(errno));
    if (got == 0) return unexpected(std::string("the server closed the connection before sending its tables"));
    have += static_cast<size_t>(got);
  }
}

bool send_all(int fd, const std::vector<std::byte>& out) {
  size_t off = 0;
  while (off < out.size()) {
    ssize_t n = ::send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

pesto::PifTable* find_by_name(std::vector<pesto::PifTable>& tables, const std::string& name) {
  for (auto& t : tables)
    if (t.name == name) return &t;
  return nullptr;
}

// Applies the command line's steps to the tables, in order: -A/-D switch
// between adding and deleting, -C clears a table, and a spec before the
// first -A/-D replaces its table's rules (cleared once, then added to).
Expected<void, std::string> apply_steps(const std::vector<Step>& steps, const portfwd::PortRange& ephemeral,
                                        std::vector<pesto::PifTable>& tables) {
  auto action = portfwd::SpecAction::Add;
  bool replacing = true;  // until the first -A or -D
  bool inbound_cleared = false, outbound_cleared = false;
  for (const auto& step : steps) {
    if (step.option == 'A' || step.option == 'D') {
      action = step.option == 'A' ? portfwd::SpecAction::Add : portfwd::SpecAction::Delete;
      replacing = false;
      continue;
    }
    if (step.option == 'C') {
      auto* t = find_by_name(tables, step.arg);
      if (!t) return unexpected("unknown table '" + step.arg + "' (the server has no such pif)");
      t->table.clear();
      if (step.arg == "HOST") inbound_cleared = true;
      if (step.arg == "SPLICE") outbound_cleared = true;
      continue;
    }
    const bool outbound = step.option == 'T' || step.option == 'U';
    auto* t = find_by_name(tables, outbound ? "SPLICE" : "HOST");
    if (!t)
      return unexpected(std::string("cannot use -") + step.option + ": the server has no " +
                        (outbound ? "outbound (SPLICE)" : "inbound (HOST)") + " table");
    bool& cleared = outbound ? outbound_cleared : inbound_cleared;
    if (replacing && !cleared) {
      t->table.clear();
      cleared = true;
    }
    std::vector<std::string> warnings;
    auto r = portfwd::apply_port_spec(step.option, step.arg, action, t->table, ephemeral, &warnings);
    for (const auto& w : warnings) std::fprintf(stderr, "pesto: %s\n", w.c_str());
    if (!r) return unexpected(r.error());
  }
  return {};
}

}  // namespace

namespace cmd {

int pesto(int argc, char** argv) {
  static const option kLongOptions[] = {
      {"debug", no_argument, nullptr, 'd'},           {"help", no_argument, nullptr, 'h'},
      {"version", no_argument, nullptr, 1},           {"add", no_argument, nullptr, 'A'},
      {"delete", no_argument, nullptr, 'D'},          {"clear", required_argument, nullptr, 'C'},
      {"tcp-ports", required_argument, nullptr, 't'}, {"udp-ports", required_argument, nullptr, 'u'},
      {"tcp-ns", required_argument, nullptr, 'T'},    {"udp-ns", required_argument, nullptr, 'U'},
      {"show", no_argument, nullptr, 's'},            {nullptr, 0, nullptr, 0},
  };
  bool debug = false, show_tables = false;
  std::vector<Step> steps;
  optind = 0;  // a full reset of getopt's state
  for (;;) {
    int opt = ::getopt_long(argc, argv, "dhADC:t:u:T:U:s", kLongOptions, nullptr);
    if (opt == -1) break;
    switch (opt) {
      case 'A':
      case 'D':
        steps.push_back({static_cast<char>(opt), ""});
        break;
      case 'C':
      case 't':
      case 'u':
      case 'T':
      case 'U':
        steps.push_back({static_cast<char>(opt), optarg});
        break;
      case 's':
        show_tables = true;
        break;
      case 'd':
        debug = true;
        break;
      case 'h':
        print_usage(argv[0], stdout);
        return 0;
      case 1:
        std::printf("pesto (netd %s)\n", NETD_VERSION);
        return 0;
      default:
        print_usage(argv[0], stderr);
        return 1;
    }
  }
  if (argc - optind != 1) {
    print_usage(argv[0], stderr);
    return 1;
  }
  const std::string path = argv[optind];
  auto debug_line = [&](const std::string& s) {
    if (debug) std::fprintf(stderr, "%s\n", s.c_str());
  };

  std::string warning;
  const portfwd::PortRange ephemeral = portfwd::read_ephemeral_ports(&warning);
  if (!warning.empty()) std::fprintf(stderr, "pesto: %s; assuming ports %u-%u are ephemeral\n", warning.c_str(),
                                     ephemeral.first, ephemeral.last);

  sockaddr_un sa{};
  if (path.empty() || path.size() >= sizeof sa.sun_path) return fail("invalid socket path \"" + path + "\"");
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path.data(), path.size());
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) return fail(std::string("cannot create a UNIX socket: ") + std::strerror(errno));
  if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
    return fail("cannot connect to " + path + ": " + std::strerror(errno));
  debug_line("Connected to the configuration socket " + path);

  auto received = read_tables(sock.get());
  if (!received) return fail(received.error());
  std::vector<pesto::PifTable> tables = std::move(*received);
  for (const auto& t : tables) {
    std::string caps;
    char line[256];
    std::snprintf(line, sizeof line, "PIF %u: %s, %zu rules, capabilities 0x%x:%s", t.pif, t.name.c_str(),
                  t.table.rules.size(), t.table.caps, caps_text(t.table.caps, caps));
    debug_line(line);
  }

  if (steps.empty()) {
    std::printf("passt/pasta configuration (%s)\n", path.c_str());
    show(tables);
  } else {
    if (show_tables) {
      std::printf("Previous configuration (%s)\n", path.c_str());
      show(tables);
    }
    if (auto r = apply_steps(steps, ephemeral, tables); !r) return fail(r.error());
    if (show_tables) {
      std::printf("Updated configuration (%s)\n", path.c_str());
      show(tables);
    }
    if (!send_all(sock.get(), pesto::encode_client_message(tables)))
      return fail(std::string("error writing to the configuration socket: ") + std::strerror(errno));
    debug_line("Sent the updated tables");
  }
  std::fflush(stdout);
  if (::shutdown(sock.get(), SHUT_RDWR) != 0 && errno != ENOTCONN)
    return fail(std::string("error shutting down the configuration socket: ") + std::strerror(errno));
  return 0;
}

}  // namespace cmd
}  // namespace netd
