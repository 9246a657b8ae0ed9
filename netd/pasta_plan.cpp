#include "netd/pasta_plan.h"

namespace netd {
namespace {

using net::IpAddr;
using net::IpFamily;
using net::Ipv4Addr;
using net::Ipv6Addr;

constexpr unsigned kDefaultMtu = 65520;
// pasta's "local mode" addresses, for a family the host has no template for.
const Ipv4Addr kLocalGuest4 = Ipv4Addr::from_octets(169, 254, 2, 1);
const Ipv4Addr kLocalGateway4 = Ipv4Addr::from_octets(169, 254, 2, 2);
const Ipv6Addr kLocalGateway6{{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};

// The classful prefix pasta falls back to for an address given without one.
uint8_t classful_prefix(Ipv4Addr a) {
  uint32_t top = a.v >> 24;
  if (top < 128) return 8;
  if (top < 192) return 16;
  if (top < 224) return 24;
  return 32;
}

// The template interface of one family: -i, else --outbound-ifN, else pasta's pick.
Expected<int, std::string> template_index(const PastaOptions& o, const HostNetwork& host, IpFamily f) {
  const std::string& named = !o.interface.empty() ? o.interface : f == IpFamily::V4 ? o.outbound_if4 : o.outbound_if6;
  if (named.empty()) return pick_template_interface(host, f);
  int i = interface_index(host, named);
  if (!i) return unexpected("Invalid interface name " + named + ": no such interface on the host");
  return i;
}

std::string cidr_text(const IpAddr& a, unsigned prefix) { return a.to_string() + "/" + std::to_string(prefix); }

class Planner {
 public:
  Planner(const PastaOptions& o, const HostNetwork& host) : o_(o), host_(host) {}

  Expected<PastaPlan, std::string> run(const std::vector<dns::UpstreamServer>& resolv) {
    if (auto r = plan_ipv4(); !r) return unexpected(r.error());
    if (auto r = plan_ipv6(); !r) return unexpected(r.error());
    tap::StackConfig& s = p_.stack;
    unsigned mtu = o_.mtu.value_or(kDefaultMtu);
    s.mtu = mtu ? mtu : 1500;  // 0: leave the interface's MTU alone (its default is 1500)
    if (s.ipv6 && s.mtu < 1280) {
      p_.notes.push_back("IPv6 disabled: MTU " + std::to_string(s.mtu) + " is below IPv6's minimum of 1280");
      s.ipv6 = false;
    }
    if (o_.our_mac) s.gateway_mac = *o_.our_mac;
    s.router_advertisements = !o_.no_ra && !o_.config_net;
    s.dhcp = !o_.no_dhcp;
    s.dhcpv6 = !o_.no_dhcpv6;
    s.ndp = !o_.no_ndp && !o_.no_icmp;
    s.tcp = !o_.no_tcp;
    s.udp = !o_.no_udp;
    s.icmp = !o_.no_icmp;
    plan_dns(resolv);
    if (auto r = plan_search(); !r) return unexpected(r.error());
    plan_tap(mtu);
    if (o_.outbound4) p_.outbound4 = o_.outbound4->to_string();
    else p_.outbound4 = o_.outbound_if4;
    if (o_.outbound6) p_.outbound6 = o_.outbound6->to_string();
    else p_.outbound6 = o_.outbound_if6;
    return std::move(p_);
  }

 private:
  Expected<void, std::string> plan_ipv4() {
    Ipv4Addr guest = kLocalGuest4, gw = kLocalGateway4;
    uint8_t prefix = 16;
    bool local = true;
    if (!o_.ipv6_only) {
      auto idx = template_index(o_, host_, IpFamily::V4);
      if (!idx) return unexpected(idx.error());
      if (*idx) t4_ = host_template(host_, IpFamily::V4, *idx);
      std::optional<Ipv4Addr> a, g;
      uint8_t pfx = 0;
      if (o_.addr4) {
        a = o_.addr4->addr;
        pfx = o_.addr4->prefix;
      } else if (t4_ && t4_->addr) {
        a = t4_->addr->v4();
        pfx = t4_->prefix;
      }
      if (o_.netmask4) pfx = *o_.netmask4;
      if (o_.gateway4) g = *o_.gateway4;
      else if (t4_ && t4_->gateway) g = t4_->gateway->v4();
      if (a && g) {
        guest = *a;
        gw = *g;
        prefix = pfx ? pfx : classful_prefix(*a);
        local = false;
      } else {
        p_.notes.push_back("IPv4: no host interface with an address and a default gateway to copy: local mode (" +
                           cidr_text(IpAddr(guest), prefix) + " behind " + gw.to_string() + ")");
      }
    }
    auto s = tap::StackConfig::copied_from(net::Ipv4Cidr{guest, prefix}, gw);
    if (!s) return unexpected(s.error());
    p_.stack = std::move(*s);
    p_.stack.ipv4 = !o_.ipv6_only;
    local4_ = local;
    tap::StackConfig& c = p_.stack;
    if (o_.map_host_loopback4) c.map_host_loopback = *o_.map_host_loopback4;
    else if (!o_.no_map_gw) c.map_host_loopback = gw;
    if (o_.map_guest_addr4) c.guest_alias = *o_.map_guest_addr4;
    return {};
  }

  Expected<void, std::string> plan_ipv6() {
    tap::StackConfig& c = p_.stack;
    c.ipv6 = false;
    if (o_.ipv4_only) return {};
    auto idx = template_index(o_, host_, IpFamily::V6);
    if (!idx) return unexpected(idx.error());
    if (*idx) t6_ = host_template(host_, IpFamily::V6, *idx);
    std::optional<net::Ipv6Cidr> a;
    if (o_.addr6) a = *o_.addr6;
    else if (t6_ && t6_->addr) a = net::Ipv6Cidr{t6_->addr->v6(), t6_->prefix};
    std::optional<Ipv6Addr> g;
    if (o_.gateway6) g = *o_.gateway6;
    else if (t6_ && t6_->gateway) g = t6_->gateway->v6();
    if (a && g) {
      Ipv6Addr router = g->is_link_local() ? *g
                        : (t6_ && t6_->link_local) ? t6_->link_local->v6()
                                                   : kLocalGateway6;
      if (auto r = c.set_copied6(*a, *g, router); !r) return r;
    } else {
      // Local mode: the guest keeps only its link-local address; netd is
      // the router at fe80::1.
      c.ipv6 = true;
      c.gateway6 = kLocalGateway6;
      c.router_ll = kLocalGateway6;
      c.cidr6 = net::Ipv6Cidr{kLocalGateway6, 64};
      local6_ = true;
      p_.notes.push_back("IPv6: no host interface with a global address and a default gateway to copy: "
                         "local mode (link-local only, behind fe80::1)");
    }
    if (o_.map_host_loopback6) c.map_host_loopback6 = *o_.map_host_loopback6;
    else if (!o_.no_map_gw) c.map_host_loopback6 = c.gateway6;
    if (o_.map_guest_addr6) c.guest_alias6 = *o_.map_guest_addr6;
    return {};
  }

  void plan_dns(const std::vector<dns::UpstreamServer>& resolv) {
    tap::StackConfig& c = p_.stack;
    if (o_.dns_forward4) c.dns = *o_.dns_forward4;
    if (o_.dns_forward6) c.dns6 = *o_.dns_forward6;
    if (o_.dns_host4 || o_.dns_host6) {
      if (o_.dns_host4) p_.dns_upstreams.push_back({o_.dns_host4->to_string(), 53});
      if (o_.dns_host6) p_.dns_upstreams.push_back({o_.dns_host6->to_string(), 53});
    } else {
      p_.dns_upstreams = resolv;
    }
    if (o_.dns_none) return;
    if (!o_.dns.empty()) {
      for (const auto& a : o_.dns) {
        if (a.is_v4()) c.announce_dns.push_back(a.v4());
        else c.announce_dns6.push_back(a.v6());
      }
      return;
    }
    if (!o_.dhcp_dns) return;
    // The host's name servers, each as the guest can reach it.
    for (const auto& r : resolv) {
      auto a = IpAddr::parse(r.addr);
      if (!a) continue;  // a zone-scoped address means nothing to the guest
      if (a->is_v4()) {
        Ipv4Addr v = a->v4();
        if (v.is_loopback()) v = !c.dns.is_unspecified() ? c.dns : c.map_host_loopback;
        if (!v.is_unspecified()) c.announce_dns.push_back(v);
      } else {
        Ipv6Addr v = a->v6();
        if (v.is_loopback()) v = !c.dns6.is_unspecified() ? c.dns6 : c.map_host_loopback6;
        if (!v.is_unspecified()) c.announce_dns6.push_back(v);
      }
    }
  }

  // -S: one or more space-separated domains per option, for DHCPv6.
  Expected<void, std::string> plan_search() {
    if (o_.search_none || o_.search.empty()) return {};
    std::vector<std::string> domains;
    for (const auto& arg : o_.search) {
      size_t i = 0;
      while (i < arg.size()) {
        size_t j = arg.find(' ', i);
        if (j == std::string::npos) j = arg.size();
        if (j > i) domains.push_back(arg.substr(i, j - i));
        i = j + 1;
      }
    }
    if (auto r = p_.stack.set_dns_search(domains); !r) return unexpected("Cannot use DNS search domain: " + r.error());
    return {};
  }

  void plan_tap(unsigned mtu) {
    const tap::StackConfig& c = p_.stack;
    tap::TapOptions& t = p_.tap;
    t.name = !o_.ns_ifname.empty() ? o_.ns_ifname
             : (t4_ && !local4_)    ? t4_->ifname
             : (t6_ && !local6_)    ? t6_->ifname
                                    : "tap0";
    t.mtu = mtu;
    if (o_.ns_mac) t.mac = o_.ns_mac->to_string();
    t.configure = o_.config_net;
    t.ipv6 = c.ipv6 ? tap::TapOptions::Ipv6::kStatic : tap::TapOptions::Ipv6::kOff;
    if (!o_.config_net) return;
    if (c.ipv4) {
      if (o_.addr4 || !t4_ || local4_) {
        t.addresses.push_back({cidr_text(IpAddr(c.guest), c.cidr.prefix)});
      } else {
        for (const auto& a : t4_->addresses) t.addresses.push_back({cidr_text(a.addr, a.prefix)});
      }
      if (o_.gateway4 || !t4_ || local4_) {
        t.routes.push_back({"0.0.0.0/0", c.gateway.to_string()});
      } else {
        copy_routes(*t4_);
      }
    }
    if (c.ipv6 && c.guest6) {
      if (o_.addr6 || !t6_ || local6_) {
        t.addresses.push_back({cidr_text(IpAddr(*c.guest6), c.cidr6.prefix)});
      } else {
        for (const auto& a : t6_->addresses) t.addresses.push_back({cidr_text(a.addr, a.prefix)});
      }
    }
    if (c.ipv6) {
      if (o_.gateway6 || !t6_ || local6_ || !c.guest6) {
        t.routes.push_back({"::/0", c.gateway6.to_string()});
      } else {
        copy_routes(*t6_);
      }
    }
  }

  // The template's routes, as they are; a subnet route the address already
  // implies is simply there already.
  void copy_routes(const HostTemplate& t) {
    for (const auto& r : t.routes) {
      if (!r.is_default() && r.dst.is_v6() && r.dst.v6().is_link_local()) continue;  // fe80::/64: per link
      p_.tap.routes.push_back({cidr_text(r.dst, r.dst_len), r.gateway ? r.gateway->to_string() : std::string()});
    }
  }

  const PastaOptions& o_;
  const HostNetwork& host_;
  PastaPlan p_;
  std::optional<HostTemplate> t4_, t6_;
  bool local4_ = false, local6_ = false;
};

}  // namespace

Expected<PastaPlan, std::string> make_pasta_plan(const PastaOptions& o, const HostNetwork& host,
                                                 const std::vector<dns::UpstreamServer>& resolv) {
  return Planner(o, host).run(resolv);
}

}  // namespace netd
