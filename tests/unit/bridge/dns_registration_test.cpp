// Name registration: netd's networks and members -> the DNS server's tables.
#include "bridge/dns_registration.h"

#include <gtest/gtest.h>

#include "dns/names.h"

using namespace netd;
using namespace netd::bridge;

namespace {
Network bridge_net(const std::string& name, const std::string& subnet, const std::string& gw) {
  Network n;
  n.name = name;
  n.network_interface = "netdbr0";
  n.subnets.push_back({subnet, gw, std::nullopt});
  return n;
}
Member member(const std::string& name, const std::string& ip, std::vector<std::string> aliases = {}) {
  Member m;
  m.container = name;
  m.aliases = std::move(aliases);
  m.ipv4 = ip;
  m.host_veth = "veth" + name;
  return m;
}
netd::net::IpAddr ip(const char* s) { return *netd::net::IpAddr::parse(s); }
}  // namespace

TEST(DnsRegistration, MembersBecomeNamesOnTheGateway) {
  auto n = bridge_net("web", "10.89.0.0/24", "10.89.0.1");
  NetworkState s{"web", {member("Front", "10.89.0.2", {"WWW", "app"}), member("db", "10.89.0.3")}};
  std::vector<std::string> warnings;
  auto cfgs = dns_configs({n}, {s}, warnings);
  ASSERT_EQ(cfgs.size(), 1u);
  EXPECT_TRUE(warnings.empty());
  const auto& c = cfgs[0];
  EXPECT_EQ(c.name, "web");
  EXPECT_FALSE(c.internal);
  ASSERT_EQ(c.listen.size(), 1u);
  EXPECT_EQ(c.listen[0], ip("10.89.0.1"));
  EXPECT_TRUE(c.upstreams.empty());
  ASSERT_EQ(c.containers.size(), 2u);
  EXPECT_EQ(c.containers[0].names, (std::vector<std::string>{"front", "www", "app"}));  // lowercase, name first
  ASSERT_EQ(c.containers[0].v4.size(), 1u);
  EXPECT_EQ(c.containers[0].v4[0], ip("10.89.0.2"));
  EXPECT_TRUE(c.containers[0].v6.empty());
}

TEST(DnsRegistration, OnlyNetworksWithDnsAndMembers) {
  auto a = bridge_net("a", "10.89.0.0/24", "10.89.0.1");
  auto b = bridge_net("b", "10.89.1.0/24", "10.89.1.1");
  b.dns_enabled = false;
  auto c = bridge_net("c", "10.89.2.0/24", "10.89.2.1");
  std::vector<std::string> w;
  auto cfgs = dns_configs({a, b, c}, {{"a", {member("x", "10.89.0.2")}}, {"b", {member("y", "10.89.1.2")}}, {"c", {}}}, w);
  ASSERT_EQ(cfgs.size(), 1u);
  EXPECT_EQ(cfgs[0].name, "a");
}

TEST(DnsRegistration, InternalAndUpstreamsCarriedOver) {
  auto n = bridge_net("in", "10.89.3.0/24", "10.89.3.1");
  n.internal = true;
  n.network_dns_servers = {"198.51.100.10", "not-an-ip", "2001:db8::53"};
  std::vector<std::string> w;
  auto cfgs = dns_configs({n}, {{"in", {member("x", "10.89.3.2"), member("bad", "nonsense")}}}, w);
  ASSERT_EQ(cfgs.size(), 1u);
  EXPECT_TRUE(cfgs[0].internal);
  ASSERT_EQ(cfgs[0].upstreams.size(), 2u);
  EXPECT_EQ(cfgs[0].upstreams[0].addr, "198.51.100.10");
  EXPECT_EQ(cfgs[0].upstreams[1].addr, "2001:db8::53");
  EXPECT_EQ(cfgs[0].containers.size(), 1u);  // the member without an address is skipped
  EXPECT_EQ(w.size(), 2u);                   // ... and so is the bad server, each with a warning
}

TEST(DnsRegistration, TablesIsolateNetworks) {
  // Two networks, as the server sees them: each container finds the names of
  // its own network only, and PTR answers name and aliases.
  auto a = bridge_net("a", "10.89.0.0/24", "10.89.0.1");
  auto b = bridge_net("b", "10.89.1.0/24", "10.89.1.1");
  std::vector<std::string> w;
  dns::NameTable t(dns_configs({a, b}, {{"a", {member("web", "10.89.0.2", {"www"})}}, {"b", {member("db", "10.89.1.2")}}}, w));
  auto from_a = t.scope(ip("10.89.0.2"), ip("10.89.0.1"));
  EXPECT_TRUE(t.lookup(from_a, "www").found);
  EXPECT_FALSE(t.lookup(from_a, "db").found);
  auto from_b = t.scope(ip("10.89.1.2"), ip("10.89.1.1"));
  EXPECT_TRUE(t.lookup(from_b, "db").found);
  EXPECT_FALSE(t.lookup(from_b, "web").found);
  EXPECT_EQ(t.reverse(from_a, ip("10.89.0.2")), (std::vector<std::string>{"web", "www"}));
  EXPECT_TRUE(t.reverse(from_b, ip("10.89.0.2")).empty());
}

TEST(DnsRegistration, OneContainerOnTwoNetworksSeesBoth) {
  // The same netns connected to a and b is one container: from either of its
  // addresses it resolves the names of both networks.
  auto a = bridge_net("a", "10.89.0.0/24", "10.89.0.1");
  auto b = bridge_net("b", "10.89.1.0/24", "10.89.1.1");
  auto both_a = member("api", "10.89.0.3");
  auto both_b = member("api", "10.89.1.3");
  both_a.netns_id = both_b.netns_id = "4:4026532999";
  std::vector<std::string> w;
  dns::NameTable t(dns_configs({a, b}, {{"a", {member("web", "10.89.0.2"), both_a}}, {"b", {member("db", "10.89.1.2"), both_b}}}, w));
  for (const char* src : {"10.89.0.3", "10.89.1.3"}) {
    auto scope = t.scope(ip(src), ip("10.89.0.1"));
    EXPECT_TRUE(t.lookup(scope, "web").found) << src;
    EXPECT_TRUE(t.lookup(scope, "db").found) << src;
  }
  EXPECT_FALSE(t.lookup(t.scope(ip("10.89.1.2"), ip("10.89.1.1")), "web").found);
}

TEST(DnsRegistration, Ipv6NetworksServeAaaaAndListenOnBothGateways) {
  auto n = bridge_net("six", "10.89.4.0/24", "10.89.4.1");
  n.subnets.push_back({"fd89:0:0:4::/64", "fd89:0:0:4::1", std::nullopt});
  auto m = member("web", "10.89.4.2");
  m.ipv6 = "fd89:0:0:4::2";
  std::vector<std::string> w;
  auto cfgs = dns_configs({n}, {{"six", {m}}}, w);
  ASSERT_EQ(cfgs.size(), 1u);
  EXPECT_EQ(cfgs[0].listen, (std::vector<netd::net::IpAddr>{ip("10.89.4.1"), ip("fd89:0:0:4::1")}));
  ASSERT_EQ(cfgs[0].containers[0].v6.size(), 1u);
  EXPECT_EQ(cfgs[0].containers[0].v6[0], ip("fd89:0:0:4::2"));
}
