#include "bridge/network_ops.h"

#include <dirent.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>

#include "bridge/ipam.h"
#include "bridge/links.h"
#include "bridge/lock.h"
#include "bridge/nft_apply.h"
#include "bridge/rootless_netns.h"
#include "common/log.h"
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
  if (auto w = write_file_atomic(p.state_file(n.name), serialize_state(s)); !w) return w;
  // The DNS name table (aardvark-dns format) for the embedded DNS server.
  std::string dns_file = p.dns_dir() + "/" + n.name;
  if (!n.dns_enabled || s.members.empty()) {
    ::unlink(dns_file.c_str());
    return {};
  }
  if (auto d = ensure_dir(p.dns_dir()); !d) return d;
  return write_file_atomic(dns_file, dns_names(n, s));
}

void drop_state(const Paths& p, const std::string& name) {
  ::unlink(p.state_file(name).c_str());
  ::unlink((p.dns_dir() + "/" + name).c_str());
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
    fw.push_back(std::move(f));
  }
  return apply_firewall(rn.target(), fw);
}

// After a new rootless netns was created, members recorded against the old
// one no longer have links: forget them.
void drop_stale_members(const Paths& p) {
  auto nets = list_networks(p);
  if (!nets) return;
  for (const auto& n : *nets) {
    auto st = load_state(p, n.name);
    if (!st || st->members.empty()) continue;
    LOG_WARN("network %s: dropping %zu member(s) left from a previous rootless netns", n.name.c_str(),
             st->members.size());
    drop_state(p, n.name);
  }
}

// Repair after a call was killed between creating a veth and recording it:
// a veth in the rootless netns that no state file mentions is deleted
// (deleting it also removes its peer from the container). Runs under the lock.
void delete_orphan_veths(const Paths& p, RouteSocket& sock) {
  std::vector<std::string> known;
  if (auto nets = list_networks(p)) {
    for (const auto& n : *nets)
      if (auto st = load_state(p, n.name))
        for (const auto& m : st->members) known.push_back(m.host_veth);
  }
  for (const auto& name : sock.link_names()) {
    if (name.rfind("veth", 0) != 0) continue;
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    LOG_WARN("deleting %s in the rootless netns: no network records it (an interrupted call?)", name.c_str());
    (void)sock.delete_link(name);
  }
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
  if (o.ipv6) return unexpected(std::string("IPv6 networks (--ipv6) are not supported yet"));
  auto lock = lock_state(p);
  if (!lock) return unexpected(lock.error());
  auto nets = list_networks(p);
  if (!nets) return unexpected(nets.error());
  for (const auto& n : *nets)
    if (n.name == o.name) return unexpected("network " + o.name + " already exists");

  std::vector<Ipv4Cidr> used;
  std::vector<std::string> bridges;
  for (const auto& n : *nets) {
    bridges.push_back(n.network_interface);
    if (auto v4 = first_ipv4(n)) used.push_back(v4->subnet);
  }
  Ipv4Cidr subnet;
  if (o.subnet) {
    auto c = parse_cidr(*o.subnet);
    if (!c) return unexpected("--subnet '" + *o.subnet + "' is not an IPv4 CIDR like 10.89.5.0/24");
    if (c->prefix > 30) return unexpected("--subnet " + *o.subnet + " is too small (at most /30)");
    subnet = Ipv4Cidr{c->network(), c->prefix};
    for (const auto& u : used)
      if (u.overlaps(subnet))
        return unexpected("--subnet " + to_string(subnet) + " overlaps " + to_string(u) + " of another network");
  } else {
    if (o.gateway) return unexpected(std::string("--gateway needs --subnet"));
    auto s = next_free_subnet(used);
    if (!s) return unexpected(s.error());
    subnet = *s;
  }
  Ipv4 gw{subnet.network().v + 1};
  if (o.gateway) {
    auto g = parse_ipv4(*o.gateway);
    if (!g) return unexpected("--gateway '" + *o.gateway + "' is not an IPv4 address");
    if (!subnet.contains(*g) || *g == subnet.network() || *g == subnet.broadcast())
      return unexpected("--gateway " + *o.gateway + " is not a host address of " + to_string(subnet));
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
  n.subnets.push_back(Subnet{to_string(subnet), to_string(gw), std::nullopt});
  n.internal = o.internal;
  n.dns_enabled = !o.disable_dns;
  n.options["isolate"] = "true";
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
    if (st) {
      for (const auto& m : st->members) {
        if (auto r = sock->delete_link(m.host_veth); !r) LOG_WARN("%s", r.error().c_str());
      }
    }
    if (auto r = sock->delete_link(n->network_interface); !r) return unexpected(r.error());
  }
  drop_state(p, name);
  if (::unlink(p.network_file(name).c_str()) != 0)
    return unexpected("cannot remove " + p.network_file(name) + ": " + std::strerror(errno));
  auto rest = list_networks(p);
  if (rest && rest->empty()) {
    remove_rootless_netns(p);  // the table goes with the namespace
  } else if (rn) {
    if (auto f = sync_firewall(p, *rn); !f) return unexpected(f.error());
  }
  return {};
}

Expected<Member, std::string> connect_container(const Paths& p, const ConnectOptions& o) {
  if (auto e = check_container_name("container name", o.container)) return unexpected(*e);
  for (const auto& a : o.aliases)
    if (auto e = check_container_name("alias", a)) return unexpected(*e);
  if (o.interface.empty() || o.interface.size() > 15 || o.interface.find('/') != std::string::npos)
    return unexpected("invalid interface name '" + o.interface + "' (1-15 characters, no '/')");
  if (o.netns.empty()) return unexpected(std::string("--netns is required (a netns path or a pid)"));

  auto lock = lock_state(p);
  if (!lock) return unexpected(lock.error());
  auto n = load_network(p, o.network);
  if (!n) return unexpected(n.error());
  auto v4 = first_ipv4(*n);
  if (!v4) return unexpected("network " + n->name + " has no IPv4 subnet");

  NsTarget ctr = container_target(o.netns);
  auto ctr_net = open_netns(ctr);
  if (!ctr_net) return unexpected(ctr_net.error());

  bool created = false;
  auto rn = ensure_rootless_netns(p, &created);
  if (!rn) return unexpected(rn.error());
  if (created) drop_stale_members(p);

  auto st = load_state(p, n->name);
  if (!st) return unexpected(st.error());
  if (st->find(o.container))
    return unexpected("container " + o.container + " is already connected to network " + n->name);

  const Subnet& sub = n->subnets.front();
  Ipv4 addr;
  if (o.ip) {
    auto want = parse_ipv4(*o.ip);
    if (!want) return unexpected("--ip '" + *o.ip + "' is not an IPv4 address");
    if (auto e = check_static_address(*v4, *want, st->leased())) return unexpected(*e);
    addr = *want;
  } else {
    auto a = allocate_address(*v4, sub.lease_range, st->leased());
    if (!a) return unexpected("network " + n->name + ": " + a.error());
    addr = *a;
  }

  // Links: the bridge (with its first member), then the veth pair.
  auto rsock = RouteSocket::open_in(rn->target());
  if (!rsock) return unexpected(rsock.error());
  delete_orphan_veths(p, *rsock);
  bool new_bridge = rsock->index_of(n->network_interface) == 0;
  if (auto b = rsock->ensure_bridge(n->network_interface, v4->gateway, v4->subnet.prefix); !b)
    return unexpected(b.error());
  if (new_bridge) {
    if (auto s = write_sysctl_in(rn->target(), "net/ipv4/ip_forward", "1"); !s)
      LOG_WARN("%s", s.error().c_str());
    if (auto s = write_sysctl_in(rn->target(), "net/ipv4/conf/" + n->network_interface + "/route_localnet", "1"); !s)
      LOG_DEBUG("%s", s.error().c_str());
  }
  Member m;
  m.container = o.container;
  m.aliases = o.aliases;
  m.ipv4 = to_string(addr);
  m.netns = o.netns;
  m.interface = o.interface;
  m.host_veth = "veth" + random_hex(4);

  auto undo = [&](const std::string& why) -> Expected<Member, std::string> {
    (void)rsock->delete_link(m.host_veth);
    if (st->members.empty()) (void)rsock->delete_link(n->network_interface);
    return unexpected(why);
  };
  if (auto v = rsock->create_veth(m.host_veth, rsock->index_of(n->network_interface), m.interface, ctr_net->get()); !v)
    return undo(v.error());
  auto csock = RouteSocket::open_in(ctr);
  if (!csock) return undo(csock.error());
  if (auto r = csock->set_up("lo"); !r) return undo(r.error());
  if (auto r = csock->add_address(m.interface, addr, v4->subnet.prefix); !r) return undo(r.error());
  if (auto r = csock->set_up(m.interface); !r) return undo(r.error());
  if (!n->internal) {
    if (auto r = csock->add_default_route(m.interface, v4->gateway); !r) return undo(r.error());
  }

  st->members.push_back(m);
  if (auto s = save_state(p, *n, *st); !s) return undo(s.error());
  if (auto f = sync_firewall(p, *rn); !f) {
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
  const Member* m = st->find(container);
  if (!m) return unexpected("container " + container + " is not connected to network " + network);
  std::string veth = m->host_veth;
  std::erase_if(st->members, [&](const Member& x) { return x.container == container; });

  if (auto rn = find_rootless_netns(p)) {
    auto sock = RouteSocket::open_in(rn->target());
    if (!sock) return unexpected(sock.error());
    if (auto r = sock->delete_link(veth); !r) return unexpected(r.error());
    if (st->members.empty()) {
      if (auto r = sock->delete_link(n->network_interface); !r) return unexpected(r.error());
    }
    if (auto s = save_state(p, *n, *st); !s) return unexpected(s.error());
    return sync_firewall(p, *rn);
  }
  return save_state(p, *n, *st);
}

}  // namespace netd::bridge
