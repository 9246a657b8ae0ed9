// Fuzz target: the command lines of `netd attach`, `netd forward`,
// `netd slirp4netns` and `netd pasta` (argument parsing and validation, and
// for pasta the plan made against a fixed host network: nothing runs).
// The first byte picks the command; the rest is split at NUL bytes into at
// most 32 arguments. Every outcome must be a configuration or an exit status
// with a message, never a crash or an escaping exception.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "netd/attach_runner.h"
#include "netd/cli_parse.h"
#include "netd/pasta_options.h"
#include "netd/pasta_plan.h"

namespace {
// A host with one uplink (192.0.2.50/24 via 192.0.2.1, 2001:db8::50/64 via fe80::1).
const netd::HostNetwork& fake_host() {
  using netd::net::IpAddr;
  using netd::net::Ipv4Addr;
  using netd::net::Ipv6Addr;
  static const netd::HostNetwork h = [] {
    netd::HostNetwork n;
    n.links = {{1, "lo", 65536}, {2, "eth0", 1500}};
    n.addresses = {{2, IpAddr(Ipv4Addr::from_octets(192, 0, 2, 50)), 24, false, false},
                   {2, IpAddr(*Ipv6Addr::parse("2001:db8::50")), 64, false, false},
                   {2, IpAddr(*Ipv6Addr::parse("fe80::50")), 64, true, false}};
    n.routes = {{2, IpAddr(Ipv4Addr{}), 0, IpAddr(Ipv4Addr::from_octets(192, 0, 2, 1))},
                {2, IpAddr(Ipv6Addr{}), 0, IpAddr(*Ipv6Addr::parse("fe80::1"))}};
    return n;
  }();
  return h;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const char* const kNames[] = {"netd attach", "netd forward", "slirp4netns", "pasta"};
  const int which = data[0] % 4;
  std::vector<std::string> args{kNames[which]};
  std::string cur;
  for (size_t i = 1; i < size && args.size() < 33; ++i) {
    if (data[i] == 0) {
      args.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(static_cast<char>(data[i]));
    }
  }
  if (!cur.empty() && args.size() < 33) args.push_back(cur);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int argc = static_cast<int>(args.size());

  std::ostringstream out, err;
  switch (which) {
    case 0: {
      auto p = netd::cli::parse_attach_args(argc, argv.data(), out, err);
      if (p.exit_status && *p.exit_status != 0 && err.str().empty()) __builtin_trap();  // errors say why
      break;
    }
    case 1: {
      auto p = netd::cli::parse_forward_args(argc, argv.data(), out, err);
      if (p.exit_status && *p.exit_status != 0 && err.str().empty()) __builtin_trap();
      break;
    }
    case 3: {
      auto p = netd::parse_pasta_args(argc, argv.data());
      if (p.action == netd::PastaOptions::Action::Error && p.error.empty() && !p.usage) __builtin_trap();
      if (p.action == netd::PastaOptions::Action::Run) {
        auto plan = netd::make_pasta_plan(p, fake_host(), {{"127.0.0.53", 53}});
        if (!plan && plan.error().empty()) __builtin_trap();
      }
      break;
    }
    default: {
      auto p = netd::parse_slirp4netns_args(argc, argv.data());
      if (p.action == netd::Slirp4netnsCommand::Action::Error && p.error.empty()) __builtin_trap();
      if (p.action == netd::Slirp4netnsCommand::Action::Run) (void)netd::slirp4netns_usage(argv[0]);
      break;
    }
  }
  return 0;
}
