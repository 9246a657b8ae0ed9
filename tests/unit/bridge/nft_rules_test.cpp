#include "bridge/nft_rules.h"

#include <gtest/gtest.h>

#include <algorithm>

using namespace netd::bridge;
namespace net = netd::net;

namespace {
FirewallNetwork fw_net(const char* name, const char* br, const char* sub, const char* gw, bool internal) {
  FirewallNetwork n;
  n.name = name;
  n.bridge = br;
  n.subnet = *net::Ipv4Cidr::parse(sub);
  n.gateway = *net::Ipv4Addr::parse(gw);
  n.internal = internal;
  return n;
}
bool has(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }
}  // namespace

TEST(NftRules, EmptyOnlyDeletesTable) {
  EXPECT_EQ(nft_script({}), "add table inet netd\ndelete table inet netd\n");
  EXPECT_TRUE(expected_comments({}).empty());
}

TEST(NftRules, SingleNetworkMasqueradeAndDns) {
  auto s = nft_script({fw_net("a", "netdbr0", "10.89.0.0/24", "10.89.0.1", false)});
  EXPECT_TRUE(has(s, "add table inet netd\ndelete table inet netd\ntable inet netd {\n"));
  EXPECT_TRUE(has(s, "ip saddr 10.89.0.0/24 ip daddr != 10.89.0.0/24 ip daddr != 224.0.0.0/4 masquerade "
                     "comment \"netd:a:masquerade\""));
  EXPECT_TRUE(has(s, "iifname \"netdbr0\" ip daddr 10.89.0.1 udp dport 53 accept"));
  EXPECT_TRUE(has(s, "iifname \"netdbr0\" ip daddr 10.89.0.1 tcp dport 53 accept"));
  EXPECT_FALSE(has(s, "isolate"));  // nothing to isolate from
  EXPECT_FALSE(has(s, "internal"));
  EXPECT_TRUE(has(s, "type nat hook postrouting priority srcnat; policy accept;"));
  EXPECT_TRUE(has(s, "type filter hook forward priority filter; policy accept;"));
}

TEST(NftRules, IsolationBetweenNetworks) {
  auto s = nft_script({fw_net("a", "netdbr0", "10.89.0.0/24", "10.89.0.1", false),
                       fw_net("b", "netdbr1", "10.89.1.0/24", "10.89.1.1", false),
                       fw_net("c", "netdbr2", "10.89.2.0/24", "10.89.2.1", false)});
  EXPECT_TRUE(has(s, "iifname \"netdbr0\" oifname { \"netdbr1\", \"netdbr2\" } drop comment \"netd:a:isolate\""));
  EXPECT_TRUE(has(s, "iifname \"netdbr1\" oifname { \"netdbr0\", \"netdbr2\" } drop comment \"netd:b:isolate\""));
  EXPECT_TRUE(has(s, "iifname \"netdbr2\" oifname { \"netdbr0\", \"netdbr1\" } drop comment \"netd:c:isolate\""));
}

TEST(NftRules, InternalNetworkHasNoWayOut) {
  auto s = nft_script({fw_net("in", "netdbr3", "10.89.3.0/24", "10.89.3.1", true)});
  EXPECT_TRUE(has(s, "iifname \"netdbr3\" oifname != \"netdbr3\" drop comment \"netd:in:internal-out\""));
  EXPECT_TRUE(has(s, "oifname \"netdbr3\" iifname != \"netdbr3\" drop comment \"netd:in:internal-in\""));
  EXPECT_TRUE(has(s, "iifname \"netdbr3\" ip daddr != 10.89.3.1 drop"));
  EXPECT_FALSE(has(s, "masquerade"));
  // DNS to the gateway stays allowed, and comes before the drop in the input chain.
  EXPECT_LT(s.find("udp dport 53 accept"), s.find("ip daddr != 10.89.3.1 drop"));
}

TEST(NftRules, DisableDnsDropsDnsRules) {
  auto n = fw_net("a", "netdbr0", "10.89.0.0/24", "10.89.0.1", false);
  n.dns_enabled = false;
  EXPECT_FALSE(has(nft_script({n}), "dport 53"));
}

TEST(NftRules, PublishedPortsDnat) {
  auto n = fw_net("a", "netdbr0", "10.89.0.0/24", "10.89.0.1", false);
  n.ports.push_back({"tcp", 8080, 80, *net::Ipv4Addr::parse("10.89.0.2"), "web"});
  n.ports.push_back({"udp", 5353, 53, *net::Ipv4Addr::parse("10.89.0.3"), "dns"});
  auto s = nft_script({n});
  EXPECT_TRUE(has(s, "fib daddr type local tcp dport 8080 dnat ip to 10.89.0.2:80 comment \"netd:a:port:web:tcp:8080\""));
  EXPECT_TRUE(has(s, "fib daddr type local udp dport 5353 dnat ip to 10.89.0.3:53"));
  // The same DNAT for connections made inside the rootless netns, in its own chain.
  EXPECT_TRUE(has(s, "fib daddr type local tcp dport 8080 dnat ip to 10.89.0.2:80 comment \"netd:a:port-local:web:tcp:8080\""));
  auto out = s.find("chain output {");
  ASSERT_NE(out, std::string::npos);
  EXPECT_TRUE(has(s, "type nat hook output priority -100; policy accept;"));
  EXPECT_GT(s.find("port-local:web:tcp:8080"), out);
  EXPECT_LT(s.find("\"netd:a:port:web:tcp:8080\""), out);
  auto n2 = n;
  n2.internal = true;
  EXPECT_FALSE(has(nft_script({n2}), "dnat"));
}

TEST(NftRules, CommentsMatchRules) {
  std::vector<FirewallNetwork> nets{fw_net("a", "netdbr0", "10.89.0.0/24", "10.89.0.1", false),
                                    fw_net("b", "netdbr1", "10.89.1.0/24", "10.89.1.1", true)};
  nets[0].ports.push_back({"tcp", 8080, 80, *net::Ipv4Addr::parse("10.89.0.2"), "web"});
  auto s = nft_script(nets);
  auto cs = expected_comments(nets);
  size_t rules = 0;
  for (size_t pos = 0; (pos = s.find(" comment \"", pos)) != std::string::npos; ++pos) ++rules;
  EXPECT_EQ(cs.size(), rules);
  for (const auto& c : cs) EXPECT_TRUE(has(s, "\"" + c + "\"")) << c;
}

TEST(NftRules, SubnetWrittenAsNetworkAddress) {
  auto s = nft_script({fw_net("a", "netdbr0", "10.89.0.77/24", "10.89.0.1", false)});
  EXPECT_TRUE(has(s, "ip saddr 10.89.0.0/24 "));
}

TEST(NftRules, Ipv6DnsAndInternalDrop) {
  auto n = fw_net("six", "netdbr4", "10.89.4.0/24", "10.89.4.1", true);
  n.subnet6 = *net::Ipv6Cidr::parse("fd89:0:0:4::/64");
  n.gateway6 = *net::Ipv6Addr::parse("fd89:0:0:4::1");
  auto s = nft_script({n});
  EXPECT_TRUE(has(s, "iifname \"netdbr4\" ip6 daddr fd89:0:0:4::1 udp dport 53 accept comment \"netd:six:dns-udp6\""));
  EXPECT_TRUE(has(s, "iifname \"netdbr4\" ip6 daddr fd89:0:0:4::1 tcp dport 53 accept"));
  // Internal: nothing local but the gateway, multicast and link-local (neighbour discovery).
  EXPECT_TRUE(has(s, "iifname \"netdbr4\" ip6 daddr != { fd89:0:0:4::1, ff00::/8, fe80::/10 } drop"));
  EXPECT_LT(s.find("udp dport 53 accept comment \"netd:six:dns-udp6\""), s.find("ip6 daddr != {"));
  n.internal = false;
  EXPECT_FALSE(has(nft_script({n}), "ip6 daddr !="));
}

TEST(NftRules, HostLoopbackIsRefusedUnlessTheNetworkAllowsIt) {
  const std::string rule =
      "iifname \"netdbr0\" ip daddr 10.0.2.2 ct status & dnat == 0 counter reject with icmpx type admin-prohibited "
      "comment "
      "\"netd:a:no-host-loopback\"";
  auto n = fw_net("a", "netdbr0", "10.89.0.0/24", "10.89.0.1", false);
  EXPECT_TRUE(has(nft_script({n}), rule));
  auto comments = expected_comments({n});
  EXPECT_NE(std::find(comments.begin(), comments.end(), "netd:a:no-host-loopback"), comments.end());
  n.allow_host_loopback = true;
  EXPECT_FALSE(has(nft_script({n}), "10.0.2.2"));
  auto internal = fw_net("a", "netdbr0", "10.89.0.0/24", "10.89.0.1", true);
  EXPECT_FALSE(has(nft_script({internal}), "10.0.2.2")) << "an internal network forwards nothing anyway";
}

TEST(NftRules, TheNamespacesLoopbackTakesOnlyRepliesOfDnatConnections) {
  auto s = nft_script({fw_net("a", "netdbr0", "10.89.0.0/24", "10.89.0.1", false)});
  EXPECT_TRUE(has(s, "iifname \"netdbr0\" ip daddr 127.0.0.0/8 ct status & dnat == 0 counter drop comment "
                     "\"netd:a:no-loopback\""));
  auto in = s.find("chain input {");
  ASSERT_NE(in, std::string::npos);
  EXPECT_GT(s.find("netd:a:no-loopback"), in);
  EXPECT_FALSE(has(nft_script({fw_net("i", "netdbr1", "10.89.1.0/24", "10.89.1.1", true)}), "127.0.0.0/8"))
      << "internal networks reach no local address but the gateway anyway";
}
