#include "bridge/network_ops.h"

#include <dirent.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>

#include "bridge/crash_point.h"
#include "bridge/dns_service.h"
#include "bridge/ipam.h"
#include "bridge/links.h"
#include "bridge/lock.h"
#include "bridge/nft_apply.h"
#include "bridge/published_ports.h"
#include "bridge/rootless_netns.h"
#include "common/log.h"
#include "common/net/ip.h"
#include "common/netns.h"

namespace netd::bridge {

namespace {

constexpr const char* kBridgePrefix = "netdbr";

std::string random_hex(size_t bytes) {
  std::vector<unsigned char> b(bytes);
  size_t got = 0;
  while (got < bytes) {
    ssize_t n = ::getrandom(b.data() + got, bytes - got, 0);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (unsigned char c : b) {
    s += hex[c >> 4];
    s += hex[c & 15];
  }
  return s;
}

std::string now_rfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Expected<StateLock, std::string> lock_state(const Paths& p) {
  if (auto d = ensure_dir(p.runtime_dir); !d) return unexpected(d.error());
  return StateLock::acquire(p.lock_file());
}

Expected<void, std::string> save_state(const Paths& p, const Network& n, const NetworkState& s) {
  if (auto d = ensure_dir(p.state_dir()); !d) return d;
  return write_file_atomic(p.state_file(n.name), serialize_state(s));
}

void drop_state(const Paths& p, const std::string& name) { ::unlink(p.state_file(name).c_str()); }

// True when some network was created with allow_host_loopback: the outward
// engine must then run with host loopback (the firewall still keeps every
// other network away from it).
bool any_allows_host_loopback(const Paths& p) {
  auto nets = list_networks(p);
  return nets && std::any_of(nets->begin(), nets->end(), [](const Network& n) { return allows_host_loopback(n); });
}

// Rebuilds table inet netd from every network that currently has members.
Expected<void, std::string> sync_firewall(const Paths& p, const RootlessNetns& rn) {
  auto nets = list_networks(p);
  if (!nets) return unexpected(nets.error());
  std::vector<FirewallNetwork> fw;
  for (const auto& n : *nets) {
    auto st = load_state(p, n.name);
    if (!st || st->members.empty()) continue;
    auto v4 = first_ipv4(n);
    if (!v4) continue;
    FirewallNetwork f;
    f.name = n.name;
    f.bridge = n.network_interface;
    f.subnet = v4->subnet;
    f.gateway = v4->gateway;
    f.internal = n.internal;
    f.dns_enabled = n.dns_enabled;
    f.allow_host_loopback = allows_host_loopback(n);
    if (auto v6 = first_ipv6(n)) {
      f.subnet6 = v6->subnet;
      f.gateway6 = v6->gateway;
    }
    for (const auto& m : st->members) {
      auto ip = net::Ipv4Addr::parse(m.ipv4);
      if (!ip) continue;
      for (const auto& port : m.ports)
        f.ports.push_back(PortMapping{port.proto, port.host_port, port.container_port, *ip, m.container});
    }
    fw.push_back(std::move(f));
  }
  return apply_firewall(rn.target(), fw);
}

// Undoes what a member was given in the rootless netns: its forwards and its
// veth (which takes the container's end with it). Problems are logged: the
// caller is removing the member either way.
void release_member(const Paths& p, RouteSocket& sock, const Member& m) {
  for (const auto& port : m.ports)
    if (port.forward_id)
      if (auto r = remove_forward(p, port.forward_id); !r)
        LOG_WARN("container %s: cannot remove the forward of port %u: %s", m.container.c_str(), port.host_port,
                 r.error().c_str());
  if (auto r = sock.delete_link(m.host_veth); !r) LOG_WARN("%s", r.error().c_str());
}

// Brings the recorded state and the rootless netns back in line after an
// interrupted call, a crash, or a container that went away. Runs under the
// lock, before every change:
//  - a veth in the rootless netns that no member records is deleted (a call
//    killed between creating it and recording it);
//  - a member whose veth is gone is dropped and its lease released (its
//    container's netns died, or the rootless netns was re-created);
//  - a bridge of a network without members is deleted;
//  - an outward-engine forward that no member records is removed, and a
//    recorded one the engine lacks (a restarted engine) is added again.
// The caller then rewrites the firewall and the DNS server from the state.
void reconcile(const Paths& p, const RootlessNetns& rn, RouteSocket& sock) {
  auto links = sock.link_names();
  auto nets = list_networks(p);
  if (!links || !nets) {
    LOG_WARN("cannot check the rootless netns for leftovers: %s", (!links ? links.error() : nets.error()).c_str());
    return;
  }
  auto has_link = [&](const std::string& name) { return std::find(links->begin(), links->end(), name) != links->end(); };
  std::vector<std::string> known_veths;
  std::vector<uint64_t> known_forwards;
  for (const auto& n : *nets) {
    auto st = load_state(p, n.name);
    if (!st) continue;
    size_t before = st->members.size();
    std::erase_if(st->members, [&](const Member& m) {
      if (has_link(m.host_veth)) return false;
      LOG_WARN("network %s: container %s is gone (its veth %s no longer exists); releasing %s", n.name.c_str(),
               m.container.c_str(), m.host_veth.c_str(), m.ipv4.c_str());
      return true;
    });
    if (st->members.size() != before) (void)save_state(p, n, *st);
    for (const auto& m : st->members) {
      known_veths.push_back(m.host_veth);
      for (const auto& port : m.ports) known_forwards.push_back(port.forward_id);
    }
    if (st->members.empty() && has_link(n.network_interface)) {
      LOG_WARN("network %s has no containers: deleting its bridge %s", n.name.c_str(), n.network_interface.c_str());
      (void)sock.delete_link(n.network_interface);
    }
  }
  for (const auto& name : *links) {
    if (name.rfind("veth", 0) != 0) continue;
    if (std::find(known_veths.begin(), known_veths.end(), name) != known_veths.end()) continue;
    LOG_WARN("deleting %s in the rootless netns: no network records it (an interrupted call?)", name.c_str());
    (void)sock.delete_link(name);
  }
  if (!rn.attach_pid) return;
  auto fwds = list_forwards(p);
  if (!fwds) {
    LOG_WARN("%s", fwds.error().c_str());
    return;
  }
  for (uint64_t id : *fwds) {
    if (std::find(known_forwards.begin(), known_forwards.end(), id) != known_forwards.end()) continue;
    LOG_WARN("removing port forward %llu: no container records it (an interrupted call?)",
             static_cast<unsigned long long>(id));
    (void)remove_forward(p, id);
  }
  // Recorded forwards the engine does not have (it was restarted): publish again.
  for (const auto& n : *nets) {
    auto st = load_state(p, n.name);
    if (!st) continue;
    bool changed = false;
    for (auto& m : st->members) {
      for (auto& port : m.ports) {
        if (std::find(fwds->begin(), fwds->end(), port.forward_id) != fwds->end()) continue;
        // The old engine's sockets may linger a moment (a helper of it still
        // holding them): retry, bounded, before giving up.
        auto id = add_forward(p, port);
        for (int attempt = 0; !id && attempt < 20; ++attempt) {
          ::usleep(100 * 1000);
          id = add_forward(p, port);
        }
        if (!id) {
          // Recorded as not published, so no stale id can alias a new
          // forward; the next call tries again.
          LOG_WARN("container %s: cannot publish port %u again: %s", m.container.c_str(), port.host_port,
                   id.error().c_str());
          if (port.forward_id != 0) changed = true;
          port.forward_id = 0;
          continue;
        }
        LOG_WARN("container %s: port %u/%s published again (the outward engine was restarted)", m.container.c_str(),
                 port.host_port, port.proto.c_str());
        port.forward_id = *id;
        changed = true;
      }
    }
    if (changed) (void)save_state(p, n, *st);
  }
}

// The end of every change: firewall, then names. A DNS problem is reported
// but does not fail the change (the network works without names).
Expected<void, std::string> sync_services(const Paths& p, const RootlessNetns& rn) {
  if (auto f = sync_firewall(p, rn); !f) return f;
  if (auto d = sync_dns(p, rn); !d) LOG_WARN("DNS: %s", d.error().c_str());
  return {};
}

// Which member (network, container) already publishes proto/host_port.
std::optional<std::string> port_owner(const Paths& p, const PublishedPort& want) {
  auto nets = list_networks(p);
  if (!nets) return std::nullopt;
  for (const auto& n : *nets) {
    auto st = load_state(p, n.name);
    if (!st) continue;
    for (const auto& m : st->members)
      for (const auto& port : m.ports)
        if (port.proto == want.proto && port.host_port == want.host_port) return m.container + " on network " + n.name;
  }
  return std::nullopt;
}

NsTarget container_target(const std::string& netns) {
  NsTarget t;
  bool digits = !netns.empty() && std::all_of(netns.begin(), netns.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits) {
    t.pid = static_cast<pid_t>(std::stol(netns));
  } else {
    t.netns_path = netns;
  }
  return t;
}

}  // namespace

std::optional<std::string> check_container_name(const std::string& what, const std::string& name) {
  if (auto e = check_network_name(name)) {
    std::string m = *e;
    m.replace(m.find("network name"), 12, what);
    return m;
  }
  return std::nullopt;
}

Expected<std::vector<Network>, std::string> list_networks(const Paths& p) {
  std::vector<Network> out;
  DIR* d = ::opendir(p.config_dir.c_str());
  if (!d) return out;  // no config dir yet: no networks
  while (dirent* e = ::readdir(d)) {
    std::string f = e->d_name;
    if (f.size() <= 5 || f.compare(f.size() - 5, 5, ".json") != 0) continue;
    auto text = read_file(p.config_dir + "/" + f);
    if (!text) continue;
    auto n = parse_network(*text);
    if (!n) {
      LOG_WARN("ignoring %s/%s: %s", p.config_dir.c_str(), f.c_str(), n.error().c_str());
      continue;
    }
    out.push_back(std::move(*n));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](const Network& a, const Network& b) { return a.name < b.name; });
  return out;
}

Expected<Network, std::string> load_network(const Paths& p, const std::string& name) {
  if (auto e = check_network_name(name)) return unexpected(*e);
  bool missing = false;
  auto text = read_file(p.network_file(name), &missing);
  if (!text) {
    if (missing) return unexpected("network " + name + " does not exist");
    return unexpected(text.error());
  }
  auto n = parse_network(*text);
  if (!n) return unexpected(p.network_file(name) + ": " + n.error());
  return n;
}

Expected<NetworkState, std::string> load_state(const Paths& p, const std::string& name) {
  bool missing = false;
  auto text = read_file(p.state_file(name), &missing);
  if (!text) {
    if (missing) return NetworkState{name, {}};
    return unexpected(text.error());
  }
  auto s = parse_state(*text);
  if (!s) return unexpected(p.state_file(name) + ": " + s.error());
  s->network = name;
  return s;
}

Expected<Network, std::string> create_network(const Paths& p, const CreateOptions& o) {
  if (auto e = check_network_name(o.name)) return unexpected(*e);
  auto lock = lock_state(p);
  if (!lock) return unexpected(lock.error());
  auto nets = list_networks(p);
  if (!nets) return unexpected(nets.error());
  for (const auto& n : *nets)
    if (n.name == o.name) return unexpected("network " + o.name + " already exists");

  std::vector<net::Ipv4Cidr> used;
  std::vector<net::Ipv6Cidr> used6;
  std::vector<std::string> bridges;
  for (const auto& n : *nets) {
    bridges.push_back(n.network_interface);
    if (auto v4 = first_ipv4(n)) used.push_back(v4->subnet);
    if (auto v6 = first_ipv6(n)) used6.push_back(v6->subnet);
  }
  net::Ipv4Cidr subnet;
  if (o.subnet) {
    auto c = net::Ipv4Cidr::parse(*o.subnet);
    if (!c) return unexpected("--subnet '" + *o.subnet + "' is not an IPv4 CIDR like 10.89.5.0/24");
    if (c->prefix > 30) return unexpected("--subnet " + *o.subnet + " is too small (at most /30)");
    subnet = net::Ipv4Cidr{c->network(), c->prefix};
    for (const auto& u : used)
      if (u.overlaps(subnet))
        return unexpected("--subnet " + subnet.to_string() + " overlaps " + u.to_string() + " of another network");
  } else {
    if (o.gateway) return unexpected(std::string("--gateway needs --subnet"));
    auto s = next_free_subnet(used);
    if (!s) return unexpected(s.error());
    subnet = *s;
  }
  net::Ipv4Addr gw{subnet.network().v + 1};
  if (o.gateway) {
    auto g = net::Ipv4Addr::parse(*o.gateway);
    if (!g) return unexpected("--gateway '" + *o.gateway + "' is not an IPv4 address");
    if (!subnet.contains(*g) || *g == subnet.network() || *g == subnet.broadcast())
      return unexpected("--gateway " + *o.gateway + " is not a host address of " + subnet.to_string());
    gw = *g;
  }
  std::string bridge;
  for (int i = 0; i < 10000 && bridge.empty(); ++i) {
    std::string cand = kBridgePrefix + std::to_string(i);
    if (std::find(bridges.begin(), bridges.end(), cand) == bridges.end()) bridge = cand;
  }

  Network n;
  n.name = o.name;
  n.id = random_hex(32);
  n.network_interface = bridge;
  n.created = now_rfc3339();
  n.subnets.push_back(Subnet{subnet.to_string(), gw.to_string(), std::nullopt});
  if (o.ipv6) {
    auto s6 = next_free_subnet6(used6);
    if (!s6) return unexpected(s6.error());
    n.subnets.push_back(Subnet{s6->to_string(), s6->host(1).to_string(), std::nullopt});
    n.ipv6_enabled = true;
  }
  n.internal = o.internal;
  n.dns_enabled = !o.disable_dns;
  for (const auto& d : o.dns_servers) {
    if (!net::IpAddr::parse(d)) return unexpected("--dns '" + d + "' is not an IP address");
    n.network_dns_servers.push_back(d);
  }
  n.options["isolate"] = "true";
  for (const auto& kv : o.options)
    if (auto e = set_network_option(n.options, kv)) return unexpected(*e);
  if (auto d = ensure_dir(p.config_dir); !d) return unexpected(d.error());
  if (auto w = write_file_atomic(p.network_file(n.name), serialize_network(n)); !w) return unexpected(w.error());
  return n;
}

Expected<void, std::string> remove_network(const Paths& p, const std::string& name) {
  auto lock = lock_state(p);
  if (!lock) return unexpected(lock.error());
  auto n = load_network(p, name);
  if (!n) return unexpected(n.error());
  auto st = load_state(p, name);
  auto rn = find_rootless_netns(p);
  if (rn) {
    auto sock = RouteSocket::open_in(rn->target());
    if (!sock) return unexpected(sock.error());
    if (st)
      for (const auto& m : st->members) release_member(p, *sock, m);
    if (auto r = sock->delete_link(n->network_interface); !r) return unexpected(r.error());
  }
  drop_state(p, name);
  if (::unlink(p.network_file(name).c_str()) != 0)
    return unexpected("cannot remove " + p.network_file(name) + ": " + std::strerror(errno));
  crash_point("rm-after-state");
  auto rest = list_networks(p);
  if (rest && rest->empty()) {
    remove_rootless_netns(p);  // the table and the DNS server go with it
  } else if (rn) {
    return sync_services(p, *rn);
  }
  return {};
}

namespace {

// connect_container's checks of its options that need no state: names, the
// interface, the netns, and the -p specs (parsed, none published twice).
Expected<std::vector<PublishedPort>, std::string> check_connect_options(const ConnectOptions& o) {
  if (auto e = check_container_name("container name", o.container)) return unexpected(*e);
  for (const auto& a : o.aliases)
    if (auto e = check_container_name("alias", a)) return unexpected(*e);
  if (o.interface.empty() || o.interface.size() > 15 || o.interface.find('/') != std::string::npos)
    return unexpected("invalid interface name '" + o.interface + "' (1-15 characters, no '/')");
  if (o.netns.empty()) return unexpected(std::string("--netns is required (a netns path or a pid)"));
  auto ports = parse_publish(o.publish);
  if (!ports) return unexpected(ports.error());
  for (size_t i = 0; i < ports->size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if ((*ports)[i].proto == (*ports)[j].proto && (*ports)[i].host_port == (*ports)[j].host_port)
        return unexpected("host port " + std::to_string((*ports)[i].host_port) + "/" + (*ports)[i].proto +
                          " is published twice");
  return ports;
}

// A member's addresses: --ip or the next free IPv4 address, and the next
// free IPv6 address on a dual-stack network.
struct MemberAddresses {
  net::Ipv4Addr v4;
  std::optional<net::Ipv6Addr> v6;
};

Expected<MemberAddresses, std::string> pick_addresses(const Network& n, const NetworkState& st,
                                                      const std::optional<std::string>& ip) {
  const Ipv4Net v4 = *first_ipv4(n);
  MemberAddresses out;
  if (ip) {
    auto want = net::Ipv4Addr::parse(*ip);
    if (!want) return unexpected("--ip '" + *ip + "' is not an IPv4 address");
    if (auto e = check_static_address(v4, *want, st.leased())) return unexpected(*e);
    out.v4 = *want;
  } else {
    auto a = allocate_address(v4, n.subnets.front().lease_range, st.leased());
    if (!a) return unexpected("network " + n.name + ": " + a.error());
    out.v4 = *a;
  }
  if (auto v6 = first_ipv6(n)) {
    auto a6 = allocate_address6(*v6, st.leased6());
    if (!a6) return unexpected("network " + n.name + ": " + a6.error());
    out.v6 = *a6;
  }
  return out;
}

// The container's side of a new member: loopback and its interface up, its
// addresses, and (unless the network is internal) default routes through
// the gateways.
Expected<void, std::string> configure_container_side(RouteSocket& csock, const Network& n, const Member& m,
                                                     const MemberAddresses& addr) {
  const Ipv4Net v4 = *first_ipv4(n);
  const auto v6 = first_ipv6(n);
  if (auto r = csock.set_up("lo"); !r) return r;
  if (auto r = csock.add_address(m.interface, addr.v4, v4.subnet.prefix); !r) return r;
  if (auto r = csock.set_up(m.interface); !r) return r;
  if (addr.v6) {
    if (auto r = csock.add_address(m.interface, *addr.v6, v6->subnet.prefix); !r) return r;
  }
  if (n.internal) return {};
  if (auto r = csock.add_default_route(m.interface, v4.gateway); !r) return r;
  if (v6) {
    if (auto r = csock.add_default_route(m.interface, v6->gateway); !r) return r;
  }
  return {};
}

}  // namespace

Expected<Member, std::string> connect_container(const Paths& p, const ConnectOptions& o) {
  auto ports = check_connect_options(o);
  if (!ports) return unexpected(ports.error());

  auto lock = lock_state(p);
  if (!lock) return unexpected(lock.error());
  auto n = load_network(p, o.network);
  if (!n) return unexpected(n.error());
  auto v4 = first_ipv4(*n);
  if (!v4) return unexpected("network " + n->name + " has no IPv4 subnet");
  if (!ports->empty() && n->internal)
    return unexpected("network " + n->name + " is internal: nothing reaches it from outside, so -p cannot publish");

  NsTarget ctr = container_target(o.netns);
  auto ctr_net = open_netns(ctr);
  if (!ctr_net) return unexpected(ctr_net.error());

  auto rn = ensure_rootless_netns(p, any_allows_host_loopback(p));
  if (!rn) return unexpected(rn.error());
  auto rsock = RouteSocket::open_in(rn->target());
  if (!rsock) return unexpected(rsock.error());
  reconcile(p, *rn, *rsock);

  auto st = load_state(p, n->name);
  if (!st) return unexpected(st.error());
  if (st->find(o.container))
    return unexpected("container " + o.container + " is already connected to network " + n->name);
  for (const auto& port : *ports) {
    if (auto owner = port_owner(p, port))
      return unexpected("host port " + std::to_string(port.host_port) + "/" + port.proto + " is already published by " +
                        *owner);
  }
  if (!ports->empty() && !rn->attach_pid)
    return unexpected("published ports need the rootless netns' outward engine, which is not running (see " +
                      p.attach_log() + ")");

  auto addr = pick_addresses(*n, *st, o.ip);
  if (!addr) return unexpected(addr.error());
  auto v6 = first_ipv6(*n);

  // Links: the bridge (with its first member), then the veth pair.
  bool new_bridge = rsock->index_of(n->network_interface) == 0;
  if (auto b = rsock->ensure_bridge(n->network_interface, v4->gateway, v4->subnet.prefix); !b)
    return unexpected(b.error());
  if (v6) {
    if (auto b = rsock->add_address(n->network_interface, v6->gateway, v6->subnet.prefix); !b)
      return unexpected(b.error());
  }
  if (new_bridge) {
    if (auto s = write_sysctl_in(rn->target(), "net/ipv4/ip_forward", "1"); !s)
      LOG_WARN("%s", s.error().c_str());
    if (auto s = write_sysctl_in(rn->target(), "net/ipv4/conf/" + n->network_interface + "/route_localnet", "1"); !s)
      LOG_DEBUG("%s", s.error().c_str());
  }
  Member m;
  m.container = o.container;
  m.aliases = o.aliases;
  m.ipv4 = addr->v4.to_string();
  if (addr->v6) m.ipv6 = addr->v6->to_string();
  m.netns = o.netns;
  struct stat ns_st {};
  if (::fstat(ctr_net->get(), &ns_st) == 0)
    m.netns_id = std::to_string(ns_st.st_dev) + ":" + std::to_string(ns_st.st_ino);
  m.interface = o.interface;
  m.host_veth = "veth" + random_hex(4);

  auto undo = [&](const std::string& why) -> Expected<Member, std::string> {
    release_member(p, *rsock, m);
    if (st->members.empty()) (void)rsock->delete_link(n->network_interface);
    return unexpected(why);
  };
  if (auto v = rsock->create_veth(m.host_veth, rsock->index_of(n->network_interface), m.interface, ctr_net->get()); !v)
    return undo(v.error());
  crash_point("connect-after-veth");
  auto csock = RouteSocket::open_in(ctr);
  if (!csock) return undo(csock.error());
  if (auto r = configure_container_side(*csock, *n, m, *addr); !r) return undo(r.error());
  for (auto port : *ports) {
    auto id = add_forward(p, port);
    if (!id) return undo("-p " + port.host_ip + ":" + std::to_string(port.host_port) + ":" +
                         std::to_string(port.container_port) + "/" + port.proto + ": " + id.error());
    port.forward_id = *id;
    m.ports.push_back(port);
  }
  crash_point("connect-after-forward");

  st->members.push_back(m);
  if (auto s = save_state(p, *n, *st); !s) {
    st->members.pop_back();
    return undo(s.error());
  }
  crash_point("connect-after-state");
  if (auto f = sync_services(p, *rn); !f) {
    st->members.pop_back();
    (void)save_state(p, *n, *st);
    return undo(f.error());
  }
  return m;
}

Expected<void, std::string> disconnect_container(const Paths& p, const std::string& network,
                                                 const std::string& container) {
  auto lock = lock_state(p);
  if (!lock) return unexpected(lock.error());
  auto n = load_network(p, network);
  if (!n) return unexpected(n.error());
  auto st = load_state(p, network);
  if (!st) return unexpected(st.error());
  const Member* found = st->find(container);
  if (!found) return unexpected("container " + container + " is not connected to network " + network);
  Member m = *found;
  std::erase_if(st->members, [&](const Member& x) { return x.container == container; });

  if (auto rn = find_rootless_netns(p)) {
    auto sock = RouteSocket::open_in(rn->target());
    if (!sock) return unexpected(sock.error());
    release_member(p, *sock, m);
    if (st->members.empty()) {
      if (auto r = sock->delete_link(n->network_interface); !r) return unexpected(r.error());
    }
    if (auto s = save_state(p, *n, *st); !s) return unexpected(s.error());
    crash_point("disconnect-after-state");
    reconcile(p, *rn, *sock);
    return sync_services(p, *rn);
  }
  return save_state(p, *n, *st);
}

}  // namespace netd::bridge
