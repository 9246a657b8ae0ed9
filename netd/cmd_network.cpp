// `netd network`: per-user bridge networks (create, ls, inspect, rm,
// connect, disconnect). This file is only the command line; the work is in
// bridge/network_ops.h. Errors are one line on stderr and exit status 1
// (2 for usage errors).
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bridge/network_ops.h"
#include "netd/commands.h"

namespace netd::cmd {

namespace {

using namespace netd::bridge;

int fail(const std::string& msg) {
  std::fprintf(stderr, "netd network: %s\n", msg.c_str());
  return 1;
}

nlohmann::json inspect_json(const Paths& p, const Network& n) {
  auto j = nlohmann::json::parse(serialize_network(n));
  auto st = load_state(p, n.name);
  nlohmann::json members = nlohmann::json::array();
  if (st) {
    for (const auto& m : st->members) {
      nlohmann::json ports = nlohmann::json::array();
      for (const auto& pp : m.ports)
        ports.push_back({{"protocol", pp.proto},
                         {"host_ip", pp.host_ip},
                         {"host_port", pp.host_port},
                         {"container_port", pp.container_port}});
      members.push_back({{"name", m.container},
                         {"aliases", m.aliases},
                         {"ipv4", m.ipv4},
                         {"ipv6", m.ipv6},
                         {"interface", m.interface},
                         {"netns", m.netns},
                         {"host_veth", m.host_veth},
                         {"ports", std::move(ports)}});
    }
  }
  j["containers"] = members;
  return j;
}

constexpr const char* kFooter =
    "\nNetworks live in a per-user rootless network namespace (see 'netd rootless-netns').\n"
    "Definitions: $NETD_CONFIG_DIR, else $XDG_CONFIG_HOME/netd/networks, else\n"
    "~/.config/netd/networks (netavark's network JSON). State: $NETD_RUNTIME_DIR, else\n"
    "$XDG_RUNTIME_DIR/netd. Containers on a network with DNS resolve each other's names and\n"
    "aliases at the gateway address (port 53), served by netd's DNS server in the rootless netns.\n"
    "Published ports (connect -p) are carried into the rootless netns by its outward engine\n"
    "and DNAT'd to the container.";

}  // namespace

int network(int argc, char** argv) {
  CLI::App app{"Manage per-user bridge networks (rootless, like netavark).", "netd network"};
  app.footer(kFooter);
  app.require_subcommand(1);

  CreateOptions co;
  std::string subnet, gateway;
  auto* create = app.add_subcommand("create", "Create a network (the bridge appears with the first container).");
  create->add_option("--subnet", subnet, "IPv4 subnet in CIDR form (default: next free /24 of 10.89.0.0/16)");
  create->add_option("--gateway", gateway, "gateway address inside --subnet (default: its first host)");
  create->add_flag("--internal", co.internal, "no traffic in or out of the network, only between its containers");
  create->add_flag("--disable-dns", co.disable_dns, "do not register container names for DNS on this network");
  create->add_flag("--ipv6", co.ipv6,
                   "dual stack: also an IPv6 /64 from fd89::/48 (addresses, names, isolation; no IPv6 out of the "
                   "rootless netns yet)");
  create->add_option("--dns", co.dns_servers,
                     "upstream DNS server (IP) for names the network's DNS does not know (repeatable; "
                     "default: the host's resolvers through the rootless netns' outward engine)");
  create->add_option("-o,--opt", co.options,
                     "network option KEY=VALUE (repeatable): allow_host_loopback=true lets the network's\n"
                     "containers reach the host's loopback through 10.0.2.2 (default: refused)");
  create->add_option("NAME", co.name, "network name: letters, digits, '_', '.', '-'")->required();

  bool quiet = false;
  auto* ls = app.add_subcommand("ls", "List networks.");
  ls->alias("list");
  ls->add_flag("-q,--quiet", quiet, "print names only");

  std::string name;
  auto* inspect = app.add_subcommand("inspect", "Print a network and its containers as JSON.");
  inspect->add_option("NAME", name, "network name")->required();

  auto* rm = app.add_subcommand("rm", "Remove a network, disconnecting its containers.");
  rm->alias("remove");
  rm->add_option("NAME", name, "network name")->required();

  ConnectOptions cc;
  std::string ip;
  auto* connect = app.add_subcommand("connect", "Connect a container (a network namespace) to a network.");
  connect->add_option("NAME", cc.network, "network name (prints the address; on --ipv6 networks the IPv6 one too)")
      ->required();
  connect->add_option("--netns", cc.netns, "the container: a network namespace file or a pid")->required();
  connect->add_option("--name", cc.container, "container name (unique on the network; DNS name)")->required();
  connect->add_option("--alias", cc.aliases, "extra DNS name for the container (repeatable)");
  connect->add_option("--ip", ip, "static IPv4 address inside the subnet (default: next free)");
  connect->add_option("--interface", cc.interface, "interface name inside the container (default: eth0)");
  connect->add_option("-p,--publish", cc.publish,
                      "publish a port: [HOSTIP:]HOSTPORT[-END]:CPORT[-END][/tcp|udp] (repeatable); the host\n"
                      "port leads to the container's port until it disconnects")
      ->allow_extra_args(false);

  auto* disconnect = app.add_subcommand("disconnect", "Disconnect a container from a network.");
  disconnect->add_option("NAME", name, "network name")->required();
  disconnect->add_option("--name", cc.container, "container name")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "netd network: %s (see 'netd network --help')\n", e.what());
    return 2;
  }

  Paths p = default_paths();
  if (create->parsed()) {
    if (!subnet.empty()) co.subnet = subnet;
    if (!gateway.empty()) co.gateway = gateway;
    auto n = create_network(p, co);
    if (!n) return fail(n.error());
    std::printf("%s\n", n->name.c_str());
    return 0;
  }
  if (ls->parsed()) {
    auto nets = list_networks(p);
    if (!nets) return fail(nets.error());
    if (!quiet) std::printf("%-20s %-10s %-18s %-9s %s\n", "NAME", "BRIDGE", "SUBNET", "INTERNAL", "CONTAINERS");
    for (const auto& n : *nets) {
      if (quiet) {
        std::printf("%s\n", n.name.c_str());
        continue;
      }
      auto st = load_state(p, n.name);
      std::printf("%-20s %-10s %-18s %-9s %zu\n", n.name.c_str(), n.network_interface.c_str(),
                  n.subnets.empty() ? "-" : n.subnets.front().subnet.c_str(), n.internal ? "yes" : "no",
                  st ? st->members.size() : size_t{0});
    }
    return 0;
  }
  if (inspect->parsed()) {
    auto n = load_network(p, name);
    if (!n) return fail(n.error());
    std::printf("%s\n", inspect_json(p, *n).dump(2).c_str());
    return 0;
  }
  if (rm->parsed()) {
    auto r = remove_network(p, name);
    if (!r) return fail(r.error());
    std::printf("%s\n", name.c_str());
    return 0;
  }
  if (connect->parsed()) {
    if (!ip.empty()) cc.ip = ip;
    auto m = connect_container(p, cc);
    if (!m) return fail(m.error());
    std::printf("%s\n", m->ipv4.c_str());
    if (!m->ipv6.empty()) std::printf("%s\n", m->ipv6.c_str());
    return 0;
  }
  if (disconnect->parsed()) {
    auto r = disconnect_container(p, name, cc.container);
    if (!r) return fail(r.error());
    return 0;
  }
  return fail("no subcommand given");
}

}  // namespace netd::cmd
