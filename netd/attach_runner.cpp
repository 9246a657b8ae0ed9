#include "netd/attach_runner.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <tuple>
#include <variant>

#include "common/daemon.h"
#include "common/exit_cleanup.h"
#include "common/fd_watch.h"
#include "common/file_follow.h"
#include "common/log.h"
#include "common/sandbox.h"
#include "dns/upstream.h"
#include "netd/api_server.h"
#include "netd/host_network.h"
#include "netd/outbound_addr.h"
#include "netd/outbound_monitor.h"
#include "netd/stack_backend.h"
#include "portfwd/port_holder.h"
#include "portfwd/port_spec.h"
#include "tap/dataplane.h"
#include "tap/tap_device.h"

namespace netd {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The upstreams come from resolv.conf (and follow it) unless given.
bool upstreams_follow_resolv_conf(const AttachConfig& a) {
  return !a.disable_dns && (a.dns_upstreams.empty() || a.dns_upstreams_from_resolv_conf);
}

std::string servers_text(const std::vector<dns::UpstreamServer>& servers) {
  std::string out;
  for (const auto& s : servers) out += (out.empty() ? "" : " ") + dns::to_string(s);
  return out.empty() ? "none" : out;
}

// The data plane learns of a rewritten resolv.conf through the follow
// helper's socket; a new list of name servers replaces the upstreams.
void follow_resolv_conf(tap::Dataplane& dp, FileFollow& follow, std::vector<dns::UpstreamServer> current) {
  auto watch = std::make_shared<FdWatch*>(nullptr);
  *watch = &dp.watch_control(follow.fd(), [&dp, &follow, watch, current]() mutable {
    auto taken = follow.take();
    if (taken.text) {
      auto servers = dns::parse_resolv_conf(*taken.text);
      if (servers != current) {
        const std::string before = servers_text(current), after = servers_text(servers);
        if (dp.set_dns_upstreams(servers)) {
          LOG_INFO("%s changed: DNS upstreams %s -> %s", follow.path().c_str(), before.c_str(), after.c_str());
          current = std::move(servers);
        }
      }
    }
    if (taken.ended) {
      LOG_WARN("the helper following %s ended: DNS upstreams stay %s", follow.path().c_str(),
               servers_text(current).c_str());
      (*watch)->stop();
    }
  });
}

Expected<std::vector<dns::UpstreamServer>, std::string> dns_servers(const AttachConfig& a,
                                                                   const std::string& resolv_text) {
  std::vector<dns::UpstreamServer> out;
  if (a.disable_dns) return out;
  if (!a.dns_upstreams.empty()) {
    for (const auto& s : a.dns_upstreams) {
      auto u = dns::parse_upstream(s);
      if (!u) return unexpected("--dns-upstream " + s + ": " + u.error());
      out.push_back(*u);
    }
    return out;
  }
  out = dns::parse_resolv_conf(resolv_text);
  return out;
}

// --outbound-addr / --outbound-addr6 (already checked by the parsers) -> the
// source address to bind, resolved and checked to be one of this host's;
// nullopt when the option is not given.
Expected<std::optional<net::IpAddr>, std::string> outbound_source(const std::string& text, net::IpFamily family) {
  if (text.empty()) return std::optional<net::IpAddr>{};
  auto spec = classify_outbound(text, family);
  if (!spec) return unexpected(spec.error());
  auto addr = resolve_outbound(*spec, family, host_interface_addresses());
  if (!addr) return unexpected(addr.error());
  if (auto ok = check_local_address(*addr); !ok) return unexpected(ok.error());
  return std::optional<net::IpAddr>{*addr};
}

// Trackers for the outbound options that name an interface (its address
// is then followed: netd/outbound_monitor.h); `chosen`: what start-up picked.
std::vector<OutboundTracker> outbound_trackers(const AttachConfig& a, const std::optional<net::IpAddr>& chosen4,
                                               const std::optional<net::IpAddr>& chosen6) {
  std::vector<OutboundTracker> out;
  std::vector<InterfaceAddress> host_addrs;
  for (auto [text, family, chosen] : {std::tuple{&a.outbound_addr, net::IpFamily::V4, &chosen4},
                                      std::tuple{&a.outbound_addr6, net::IpFamily::V6, &chosen6}}) {
    if (text->empty() || !*chosen) continue;
    auto spec = classify_outbound(*text, family);
    if (!spec || !std::holds_alternative<std::string>(*spec)) continue;
    if (host_addrs.empty()) host_addrs = host_interface_addresses();
    out.emplace_back(*text, family, host_addrs, **chosen);
  }
  return out;
}

// The outbound interface of `family` for --map-guest-addr: the interface
// or address --outbound-addr(6) names, else pasta's template interface, the
// one with the default route of that family (else the first with any route
// but lo), read once into `host`; an empty name: none.
Expected<OutboundSpec, std::string> outbound_interface(const AttachConfig& a, net::IpFamily family,
                                                       std::optional<HostNetwork>& host) {
  const std::string& named = family == net::IpFamily::V4 ? a.outbound_addr : a.outbound_addr6;
  if (!named.empty()) return classify_outbound(named, family);
  if (!host) {
    auto h = read_host_network();
    if (!h) return unexpected(h.error());
    host = std::move(*h);
  }
  const int index = pick_template_interface(*host, family);
  for (const auto& l : host->links)
    if (l.ifindex == index) return OutboundSpec{l.name};
  return OutboundSpec{std::string()};
}

// --map-guest-addr: where each alias leads, and the trackers that keep it
// current (netd/outbound_monitor.h). The host's own address of a family is
// the first address (IPv6: not link-local) of the outbound interface: the
// one --outbound-addr(6) names, else the one with the default route of
// that family (pasta's choice of template, netd/host_network.h); an address
// given to --outbound-addr(6) is the host's own address itself, not
// followed. Copied layout (netd pasta): the alias leads to the guest's copy
// of the host's address, as with pasta, and follows the host from there
// when that copy is an address of the outbound interface.
Expected<std::vector<OutboundTracker>, std::string> host_own_address(const AttachConfig& a, tap::StackConfig& c) {
  std::vector<OutboundTracker> trackers;
  std::optional<HostNetwork> host;
  std::vector<InterfaceAddress> host_addrs;
  for (net::IpFamily family : {net::IpFamily::V4, net::IpFamily::V6}) {
    const bool v4 = family == net::IpFamily::V4;
    const net::IpAddr alias = v4 ? net::IpAddr(c.guest_alias) : net::IpAddr(c.guest_alias6);
    if (alias.is_unspecified() || (v4 ? !c.ipv4 : !c.ipv6)) continue;
    const std::string what = "--map-guest-addr " + alias.to_string();
    auto set_own = [&](const net::IpAddr& own) {
      if (v4) c.host_own->set(own.v4());
      else c.host_own->set(own.v6());
    };
    // (copied layout: the guest's copy of the host's address, the target until the host moves)
    const net::IpAddr copy = v4 ? net::IpAddr(c.guest) : net::IpAddr(c.guest6.value_or(net::Ipv6Addr{}));
    auto spec = outbound_interface(a, family, host);
    if (!spec) return unexpected(what + ": " + spec.error());
    if (const auto* fixed = std::get_if<net::IpAddr>(&*spec)) {
      if (fixed->is_loopback())
        return unexpected(what + ": " + fixed->to_string() +
                          " is a loopback address; the alias leads to the host's own address, never its loopback");
      if (!c.copied()) set_own(*fixed);
      LOG_INFO("%s leads to the host's address %s", what.c_str(), (c.copied() ? copy : *fixed).to_string().c_str());
      continue;
    }
    const std::string& ifname = std::get<std::string>(*spec);
    if (ifname.empty()) {
      if (c.copied()) continue;
      return unexpected(what + ": the host has no " + (v4 ? "IPv4" : "IPv6") +
                        " route but through lo, so no outbound interface whose address it could lead to (name one "
                        "with --outbound-addr" + (v4 ? "" : "6") + ")");
    }
    if (host_addrs.empty()) host_addrs = host_interface_addresses();
    net::IpAddr own = copy;
    if (c.copied()) {
      // Followed only from the guest's copy of one of the interface's addresses.
      bool on_it = false;
      for (const auto& ia : host_addrs) on_it = on_it || (ia.ifname == ifname && ia.addr == copy);
      if (!on_it) continue;
    } else {
      auto first = resolve_outbound(OutboundSpec{ifname}, family, host_addrs);
      if (!first)
        return unexpected(what + ": the outbound interface " + ifname + " has no usable " + (v4 ? "IPv4" : "IPv6") +
                          " address");
      own = *first;
      if (own.is_loopback())  // (the loopback has its own alias, the gateway, and its own switch)
        return unexpected(what + ": " + own.to_string() + " (" + ifname +
                          ") is a loopback address; the alias leads to the host's own address, never its loopback");
      set_own(own);
    }
    trackers.emplace_back(ifname, family, host_addrs, own, OutboundTracker::Use::HostAddress);
    LOG_INFO("%s leads to the host's address %s (%s, followed)", what.c_str(), own.to_string().c_str(),
             ifname.c_str());
  }
  return trackers;
}

// What follows the host while netd runs: the outbound interface's addresses
// (a netlink socket, netd/outbound_monitor.h) and resolv.conf (a helper
// outside the sandbox, common/file_follow.h). Both are opened now, before
// the sandbox, and live on the heap: the data plane's watches point at them.
struct HostFollowing {
  std::unique_ptr<OutboundMonitor> outbound;
  std::unique_ptr<FileFollow> resolv_conf;
};

Expected<HostFollowing, std::string> follow_the_host(const AttachConfig& a, tap::Dataplane& plane,
                                                     const std::optional<net::IpAddr>& out4,
                                                     const std::optional<net::IpAddr>& out6,
                                                     std::vector<OutboundTracker> host_own_trackers,
                                                     std::shared_ptr<tap::HostOwnAddress> host_own, bool follow_dns,
                                                     const std::string& resolv_text,
                                                     const std::vector<dns::UpstreamServer>& servers) {
  HostFollowing h;
  auto trackers = outbound_trackers(a, out4, out6);
  for (auto& t : host_own_trackers) trackers.push_back(std::move(t));
  if (!trackers.empty()) {
    auto m = OutboundMonitor::start(std::move(trackers));
    if (!m) return unexpected(m.error());
    h.outbound = std::move(*m);
    OutboundMonitor& monitor = *h.outbound;
    // (on the loop thread, between two rounds: the engines read host_own
    // when a flow starts)
    plane.watch_control(monitor.fd(), [&plane, &monitor, host_own] {
      monitor.process([&plane, &host_own](const OutboundTracker& t, const net::IpAddr& addr) {
        if (t.use() == OutboundTracker::Use::Source) plane.set_outbound(addr);
        else if (addr.is_v4()) host_own->set(addr.v4());
        else host_own->set(addr.v6());
      });
    });
  }
  if (follow_dns) {
    // From the text the upstreams came from: a change since is not missed.
    auto f = FileFollow::start(a.resolv_conf, resolv_text);
    if (!f) return unexpected(f.error());
    h.resolv_conf = std::make_unique<FileFollow>(std::move(*f));
    follow_resolv_conf(plane, *h.resolv_conf, servers);
    LOG_INFO("following %s for DNS upstream changes", a.resolv_conf.c_str());
  }
  return h;
}

// "/proc/PID/ns/net" -> PID. procfs sends no inotify events, so such a
// path target is watched through its process instead.
std::optional<pid_t> proc_pid_of(const std::string& path) {
  constexpr std::string_view kPrefix = "/proc/", kSuffix = "/ns/net";
  std::string_view p = path;
  if (p.size() <= kPrefix.size() + kSuffix.size() || p.substr(0, kPrefix.size()) != kPrefix ||
      p.substr(p.size() - kSuffix.size()) != kSuffix)
    return std::nullopt;
  std::string_view digits = p.substr(kPrefix.size(), p.size() - kPrefix.size() - kSuffix.size());
  if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  return static_cast<pid_t>(std::stol(std::string(digits)));
}

}  // namespace

namespace {

// The slirp layout from --cidr / --cidr6 & co.; a message for a bad value.
Expected<tap::StackConfig, std::string> slirp_layout(const AttachConfig& a) {
  auto cfg = tap::StackConfig::from_cidr(a.cidr);
  if (!cfg) return unexpected("--cidr: " + cfg.error());
  cfg->mtu = a.mtu;
  cfg->host_loopback = !a.disable_host_loopback;
  cfg->ipv6 = a.ipv6;
  if (a.ipv6 && a.mtu < 1280) {
    // IPv6 links carry at least 1280 bytes (RFC 8200 5): keep such a guest IPv4-only.
    LOG_WARN("IPv6 disabled: MTU %u is below IPv6's minimum of 1280", a.mtu);
    cfg->ipv6 = false;
  }
  if (auto r = cfg->set_cidr6(a.cidr6); !r) return unexpected("--cidr6: " + r.error());
  if (auto r = cfg->set_dns_search(a.dns_search); !r) return unexpected("--dns-search: " + r.error());
  std::vector<net::IpAddr> aliases;
  if (a.map_guest_addr4) aliases.emplace_back(*a.map_guest_addr4);
  if (a.map_guest_addr6) aliases.emplace_back(*a.map_guest_addr6);
  for (const auto& alias : aliases) {
    if (alias.is_v6() && !cfg->ipv6) return unexpected("--map-guest-addr " + alias.to_string() + ": IPv6 is off");
    if (auto r = cfg->set_guest_alias(alias); !r) return unexpected("--map-guest-addr: " + r.error());
  }
  return cfg;
}

// One line (two with IPv6) saying what the guest got.
void log_attached(const AttachConfig& a, const tap::TapOptions& t, const tap::StackConfig& c) {
  if (c.copied()) {
    if (c.ipv4) {
      LOG_INFO("attached %s in %s: guest %s/%u (the host's layout), gateway %s%s, dns %s, mtu %u", t.name.c_str(),
               a.target.describe().c_str(), c.guest.to_string().c_str(), c.cidr.prefix, c.gateway.to_string().c_str(),
               c.map_host_loopback.is_unspecified() ? "" : " (mapped to host loopback)",
               c.dns.is_unspecified() ? "none" : c.dns.to_string().c_str(), c.mtu);
    }
    if (c.ipv6) {
      LOG_INFO("IPv6: guest %s, gateway %s%s, dns %s", c.guest6 ? c.guest6->to_string().c_str() : "link-local only",
               c.gateway6.to_string().c_str(), c.map_host_loopback6.is_unspecified() ? "" : " (mapped to host loopback)",
               c.dns6.is_unspecified() ? "none" : c.dns6.to_string().c_str());
    }
    return;
  }
  LOG_INFO("attached %s in %s: guest %s, gateway %s, dns %s, mtu %u%s", t.name.c_str(), a.target.describe().c_str(),
           c.guest.to_string().c_str(), c.gateway.to_string().c_str(), c.dns.to_string().c_str(), c.mtu,
           c.host_loopback ? "" : ", host loopback disabled");
  if (c.ipv6) {
    LOG_INFO("IPv6: prefix %s (guest by SLAAC), gateway %s, dns %s", c.cidr6.to_string().c_str(),
             c.gateway6.to_string().c_str(), c.dns6.to_string().c_str());
  }
}

// The tap of the slirp layout: one address (CIDR+100) and a default route
// via the gateway with --configure; IPv6 by SLAAC.
tap::TapOptions slirp_tap(const AttachConfig& a, const tap::StackConfig& cfg) {
  tap::TapOptions t;
  t.name = a.tap_name;
  t.configure = a.configure;
  t.mtu = a.mtu;
  t.addresses.push_back({cfg.guest.to_string() + "/" + std::to_string(cfg.cidr.prefix)});
  t.routes.push_back({"0.0.0.0/0", cfg.gateway.to_string()});
  if (!a.mac.empty()) t.mac = a.mac;
  t.ipv6 = cfg.ipv6 ? tap::TapOptions::Ipv6::kSlaac : tap::TapOptions::Ipv6::kOff;
  return t;
}

// DNS over TCP to the DNS address goes to the first upstream, as UDP DNS
// goes to the upstreams: also to one on the host's loopback (systemd-
// resolved's 127.0.0.53 is the DNS service the host configured), whatever
// --disable-host-loopback says; both carry only standard queries
// (dns/wire/query_check.h; docs/security.md, host exposure).
void set_dns_tcp_upstream(const std::vector<dns::UpstreamServer>& servers, tap::StackConfig& cfg) {
  if (servers.empty()) return;
  const dns::UpstreamServer& first = servers.front();
  if (auto addr = net::IpAddr::parse(first.addr)) {  // nullopt for a "%zone" address
    cfg.dns_tcp_upstream = *addr;
    cfg.dns_tcp_upstream_port = first.port;
  }
}

// -p: each forward's host socket, handed to the engine (client addresses
// are preserved: the guest sees the real peer).
Expected<void, std::string> publish_ports(const std::vector<portfwd::Forward>& published, tap::Dataplane& dp) {
  for (const auto& m : published) {
    // An older netd of a restarted container may still hold the port for a
    // moment: wait for it (bounded), else name the holder.
    auto fd = portfwd::open_host_socket_waiting(m.host_addr, m.host_port, m.proto, portfwd::kPortHandoverWait);
    if (!fd) return unexpected(fd.error());
    tap::PublishedPort port;
    port.socket = std::move(*fd);
    port.udp = m.proto == portfwd::Proto::Udp;
    port.guest_port = m.guest_port;
    dp.publish(std::move(port));
    LOG_INFO("publishing %s:%u/%s -> guest port %u (client addresses preserved)", m.host_addr.to_string().c_str(),
             m.host_port, portfwd::proto_name(m.proto), m.guest_port);
  }
  return {};
}

// The last things opened by path: the API socket and the pid file, and the
// helper outside the sandbox that removes both at exit (even after
// SIGKILL). On failure nothing is left behind.
struct NamedFiles {
  UniqueFd api_listener;
  ExitCleanup cleanup;
};

Expected<NamedFiles, std::string> open_named_files(const AttachConfig& a) {
  NamedFiles out;
  if (!a.api_socket.empty()) {
    auto l = ApiServer::bind(a.api_socket);
    if (!l) return unexpected(l.error());
    out.api_listener = std::move(*l);
  }
  if (!a.pid_file.empty()) {
    if (auto w = write_pid_file(a.pid_file); !w) {
      if (!a.api_socket.empty()) ::unlink(a.api_socket.c_str());
      return unexpected(w.error());
    }
  }
  if (!a.pid_file.empty() || !a.api_socket.empty()) {
    auto c = ExitCleanup::start({a.pid_file, a.api_socket});
    if (!c) {
      if (!a.pid_file.empty()) ::unlink(a.pid_file.c_str());
      if (!a.api_socket.empty()) ::unlink(a.api_socket.c_str());
      return unexpected("exit clean-up helper: " + c.error());
    }
    out.cleanup = std::move(*c);
  }
  return out;
}

// The control API's server on its own thread (none without --api-socket);
// its forwards go to `backend`, to `guest` when a request names no guest.
Expected<std::unique_ptr<ApiServer>, std::string> start_api(const std::string& path, UniqueFd listener,
                                                             net::Ipv4Addr guest, StackBackend& backend) {
  if (path.empty()) return std::unique_ptr<ApiServer>{};
  ApiServerOptions ao;
  ao.path = path;
  ao.listener = listener.release();
  ao.remove_socket = false;  // the clean-up helper does it
  ao.defaults.guest_addr = guest;
  ao.backend = &backend;
  return ApiServer::start(std::move(ao));
}

// --enable-sandbox / --enable-seccomp (nothing when neither is given).
Expected<void, std::string> enter_attach_sandbox(const AttachConfig& a) {
  if (!a.sandbox && !a.seccomp) return {};
  auto sb = enter_sandbox(SandboxOptions{a.sandbox, a.seccomp});
  if (!sb) return unexpected(sb.error());
  LOG_INFO("sandbox: %s%s%s", a.sandbox ? "empty read-only root, no capabilities" : "no sandbox",
           sb->new_user_namespace ? " (own user namespace)" : "", sb->seccomp ? ", seccomp allow-list" : "");
  return {};
}

// The data plane's options: the stack, DNS upstreams, outbound sources, and
// what ends it (the target's process or netns path, the exit fd).
tap::DataplaneOptions dataplane_options(const AttachConfig& a, const tap::StackConfig& cfg,
                                        const std::vector<dns::UpstreamServer>& servers,
                                        const std::optional<net::IpAddr>& out4,
                                        const std::optional<net::IpAddr>& out6, bool offload) {
  tap::DataplaneOptions dopts;
  dopts.stack = cfg;
  dopts.dns_upstreams = servers;
  dopts.outbound4 = out4;
  dopts.outbound6 = out6;
  for (const auto& o : {dopts.outbound4, dopts.outbound6})
    if (o) LOG_INFO("outbound %s traffic leaves from %s", o->is_v4() ? "IPv4" : "IPv6", o->to_string().c_str());
  if (!a.watch_target) {
    // (the caller ends netd itself: pasta's --no-netns-quit)
  } else if (a.target.pid) {
    dopts.watch_pid = a.target.pid;
  } else if (auto pid = proc_pid_of(a.target.netns_path)) {
    dopts.watch_pid = pid;
  } else {
    dopts.watch_path = a.target.netns_path;
  }
  dopts.pcap_path = a.pcap;
  dopts.exit_fd = a.exit_fd;  // hang-up: exit 0 (slirp4netns' --exit-fd)
  dopts.vnet_hdr = offload;
  return dopts;
}

}  // namespace

int run_attach(const AttachConfig& a) {
  const char* prog = a.prog.c_str();
  auto cfg = a.stack ? Expected<tap::StackConfig, std::string>(*a.stack) : slirp_layout(a);
  if (!cfg) {
    std::fprintf(stderr, "%s: %s\n", prog, cfg.error().c_str());
    return a.arg_error_status;
  }

  const bool follow_dns = upstreams_follow_resolv_conf(a);
  const std::string resolv_text = follow_dns ? read_file(a.resolv_conf) : std::string();
  auto servers = dns_servers(a, resolv_text);
  if (!servers) {
    std::fprintf(stderr, "%s: %s\n", prog, servers.error().c_str());
    return a.arg_error_status;
  }
  set_dns_tcp_upstream(*servers, *cfg);
  auto out4 = outbound_source(a.outbound_addr, net::IpFamily::V4);
  auto out6 = outbound_source(a.outbound_addr6, net::IpFamily::V6);
  for (const auto* o : {&out4, &out6}) {
    if (!*o) {  // the text was checked by the parser: this host lacks the address or interface
      std::fprintf(stderr, "%s: %s\n", prog, o->error().c_str());
      return 1;
    }
  }
  auto host_own_trackers = host_own_address(a, *cfg);
  if (!host_own_trackers) {
    std::fprintf(stderr, "%s: %s\n", prog, host_own_trackers.error().c_str());
    return 1;
  }
  auto published = portfwd::parse_port_specs(a.publish);
  if (!published) {
    std::fprintf(stderr, "%s: %s\n", prog, published.error().c_str());
    return a.arg_error_status;
  }

  tap::TapOptions topts = a.tap ? *a.tap : slirp_tap(a, *cfg);
  topts.offload = !a.no_offload;
  topts.queues = a.queues;
  auto tapfds = tap::open_tap_queues(a.target, topts);
  if (!tapfds) {
    std::fprintf(stderr, "%s: %s\n", prog, tapfds.error().c_str());
    return 1;
  }

  tap::DataplaneOptions dopts = dataplane_options(a, *cfg, *servers, *out4, *out6, topts.offload);
  auto dp = tap::Dataplane::create(std::move(*tapfds), dopts);
  if (!dp) {
    std::fprintf(stderr, "%s: %s\n", prog, dp.error().c_str());
    return 1;
  }

  if (auto r = publish_ports(*published, **dp); !r) {
    std::fprintf(stderr, "%s: -p: %s\n", prog, r.error().c_str());
    return 1;
  }
  // The API's forwards go through the same engine, queued to the loop thread
  // (constructed before the sandbox: it reads a sysctl for its messages).
  StackBackend backend(**dp, *cfg);
  backend.attach();
  std::unique_ptr<AttachExtension> extension;
  if (a.extend) {
    auto e = a.extend(**dp, *cfg, backend.queue());
    if (!e) {
      std::fprintf(stderr, "%s: %s\n", prog, e.error().c_str());
      return 1;
    }
    extension = std::move(*e);
  }

  auto following = follow_the_host(a, **dp, *out4, *out6, std::move(*host_own_trackers), cfg->host_own, follow_dns,
                                   resolv_text, *servers);
  if (!following) {
    std::fprintf(stderr, "%s: %s\n", prog, following.error().c_str());
    return 1;
  }

  // The last things opened by path (the sandbox comes next).
  auto paths = open_named_files(a);
  if (!paths) {
    std::fprintf(stderr, "%s: %s\n", prog, paths.error().c_str());
    return 1;
  }
  UniqueFd api_listener = std::move(paths->api_listener);
  ExitCleanup cleanup = std::move(paths->cleanup);

  // Still one thread: the sandbox goes up now, and every thread started
  // below lives in it.
  if (auto sb = enter_attach_sandbox(a); !sb) {
    std::fprintf(stderr, "%s: %s\n", prog, sb.error().c_str());
    return 1;
  }

  // Threads from here on (Dataplane::create blocked the stop signals).
  auto api = start_api(a.api_socket, std::move(api_listener), cfg->guest, backend);
  if (!api) {
    std::fprintf(stderr, "%s: %s\n", prog, api.error().c_str());
    return 1;
  }
  if (extension) {
    if (auto r = extension->start(); !r) {
      std::fprintf(stderr, "%s: %s\n", prog, r.error().c_str());
      return 1;
    }
  }

  log_attached(a, topts, *cfg);
  if (a.queues > 1) LOG_INFO("%u tap queues, one thread each", a.queues);
  if (a.ready_fd >= 0) signal_ready(a.ready_fd);
  if (a.on_ready) a.on_ready();
  int rc = (*dp)->run();
  extension.reset();  // its threads stop before the loop's objects go
  api->reset();  // the loop drains the backend's queue no more
  cleanup.finish();  // the API socket and the pid file are gone when netd exits
  return rc;
}

}  // namespace netd
