#include "bridge/nft_rules.h"

namespace netd::bridge {

namespace {

std::string q(const std::string& s) { return "\"" + s + "\""; }
std::string comment(const FirewallNetwork& n, const std::string& what) {
  return " comment " + q("netd:" + n.name + ":" + what);
}

// Rules are emitted once per purpose; the comment list mirrors them exactly.
struct Emitter {
  std::string forward, input, prerouting, output, postrouting;
  std::vector<std::string> comments;

  void add(std::string& chain, const FirewallNetwork& n, const std::string& what, const std::string& rule) {
    chain += "\t\t" + rule + comment(n, what) + "\n";
    comments.push_back("netd:" + n.name + ":" + what);
  }
};

Emitter emit(const std::vector<FirewallNetwork>& nets) {
  Emitter e;
  for (const auto& n : nets) {
    const std::string br = q(n.bridge);
    const std::string sub = net::Ipv4Cidr{n.subnet.network(), n.subnet.prefix}.to_string();
    const std::string gw = n.gateway.to_string();

    // Isolation: nothing from this bridge to any other network's bridge.
    std::string others;
    for (const auto& o : nets) {
      if (o.bridge == n.bridge) continue;
      others += (others.empty() ? "" : ", ") + q(o.bridge);
    }
    if (!others.empty())
      e.add(e.forward, n, "isolate", "iifname " + br + " oifname { " + others + " } drop");
    if (n.internal) {
      e.add(e.forward, n, "internal-out", "iifname " + br + " oifname != " + br + " drop");
      e.add(e.forward, n, "internal-in", "oifname " + br + " iifname != " + br + " drop");
    } else if (!n.allow_host_loopback) {
      // Refused rather than dropped: the container learns at once (TCP and
      // UDP get an ICMP error, ping an unreachable) instead of timing out;
      // counted (nft list table inet netd shows the packets). Replies of
      // published ports pass: the engine brings loopback clients in as
      // 10.0.2.2, and those connections were DNAT'd to the container.
      e.add(e.forward, n, "no-host-loopback",
            "iifname " + br + " ip daddr " + kOutwardGateway +
                " ct status & dnat == 0 counter reject with icmpx type admin-prohibited");
    }

    if (n.dns_enabled) {
      e.add(e.input, n, "dns-udp", "iifname " + br + " ip daddr " + gw + " udp dport 53 accept");
      e.add(e.input, n, "dns-tcp", "iifname " + br + " ip daddr " + gw + " tcp dport 53 accept");
      if (n.subnet6) {
        const std::string gw6 = n.gateway6.to_string();
        e.add(e.input, n, "dns-udp6", "iifname " + br + " ip6 daddr " + gw6 + " udp dport 53 accept");
        e.add(e.input, n, "dns-tcp6", "iifname " + br + " ip6 daddr " + gw6 + " tcp dport 53 accept");
      }
    }
    if (!n.internal) {
      // The bridge has route_localnet (published ports DNAT'd from the
      // namespace's own 127.0.0.1 leave through it), which would also let a
      // container reach the rootless netns' loopback: only the replies of
      // such DNAT'd connections may come in for 127.0.0.0/8 (as kube-proxy
      // does it since CVE-2020-8558).
      e.add(e.input, n, "no-loopback",
            "iifname " + br + " ip daddr 127.0.0.0/8 ct status & dnat == 0 counter drop");
    }
    if (n.internal) {
      e.add(e.input, n, "internal-host", "iifname " + br + " ip daddr != " + gw + " drop");
      if (n.subnet6)
        e.add(e.input, n, "internal-host6",
              "iifname " + br + " ip6 daddr != { " + n.gateway6.to_string() + ", ff00::/8, fe80::/10 } drop");
    }

    if (!n.internal) {
      for (const auto& p : n.ports) {
        const std::string id = p.container + ":" + p.protocol + ":" + std::to_string(p.host_port);
        const std::string dnat = "fib daddr type local " + p.protocol + " dport " + std::to_string(p.host_port) +
                                 " dnat ip to " + p.container_ip.to_string() + ":" + std::to_string(p.container_port);
        // Arriving through the tap (the engine's in-stack carrier: the
        // client's own source address), and made inside the namespace (a
        // carrier that connects from here: the source is local).
        e.add(e.prerouting, n, "port:" + id, dnat);
        e.add(e.output, n, "port-local:" + id, dnat);
      }
      e.add(e.postrouting, n, "masquerade",
            "ip saddr " + sub + " ip daddr != " + sub + " ip daddr != 224.0.0.0/4 masquerade");
    }
  }
  return e;
}

std::string chain(const char* name, const char* hook, const std::string& rules) {
  return std::string("\tchain ") + name + " {\n\t\t" + hook + "; policy accept;\n" + rules + "\t}\n";
}

}  // namespace

std::string nft_script(const std::vector<FirewallNetwork>& nets) {
  std::string table = std::string(kNftFamily) + " " + kNftTable;
  // "add" first makes "delete" safe when the table does not exist yet.
  std::string s = "add table " + table + "\ndelete table " + table + "\n";
  if (nets.empty()) return s;
  Emitter e = emit(nets);
  s += "table " + table + " {\n";
  s += chain("forward", "type filter hook forward priority filter", e.forward);
  s += chain("input", "type filter hook input priority filter", e.input);
  s += chain("prerouting", "type nat hook prerouting priority dstnat", e.prerouting);
  s += chain("output", "type nat hook output priority -100", e.output);
  s += chain("postrouting", "type nat hook postrouting priority srcnat", e.postrouting);
  s += "}\n";
  return s;
}

std::vector<std::string> expected_comments(const std::vector<FirewallNetwork>& nets) {
  return emit(nets).comments;
}

}  // namespace netd::bridge
