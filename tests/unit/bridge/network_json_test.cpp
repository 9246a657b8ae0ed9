#include <gtest/gtest.h>

#include "bridge/network_config.h"
#include "bridge/network_state.h"

using namespace netd::bridge;
namespace net = netd::net;

namespace {
Network sample() {
  Network n;
  n.name = "web";
  n.id = std::string(64, 'a');
  n.network_interface = "netdbr0";
  n.created = "2024-01-01T00:00:00Z";
  n.subnets.push_back({"10.89.0.0/24", "10.89.0.1", LeaseRange{"10.89.0.10", "10.89.0.20"}});
  n.internal = true;
  n.dns_enabled = false;
  n.network_dns_servers = {"1.1.1.1"};
  n.options = {{"isolate", "true"}, {"mtu", "1400"}};
  return n;
}
}  // namespace

TEST(NetworkJson, RoundTrip) {
  Network n = sample();
  auto back = parse_network(serialize_network(n));
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, n);
}

TEST(NetworkJson, ReadsNetavarkFileIgnoringUnknownFields) {
  const char* text = R"({
     "name": "podman1",
     "id": "0d54a8e7b1c7d4b1b2f0a0cbb3ed0e7e6f4e0b51a9c2e4f5d6a7b8c9d0e1f2a3",
     "driver": "bridge",
     "network_interface": "podman1",
     "created": "2023-05-01T10:00:00.123456789+02:00",
     "subnets": [ { "subnet": "10.89.0.0/24", "gateway": "10.89.0.1" },
                  { "subnet": "fd00:1::/64", "gateway": "fd00:1::1" } ],
     "ipv6_enabled": true,
     "internal": false,
     "dns_enabled": true,
     "labels": {"x": "y"},
     "future_field": [1, 2, 3],
     "options": { "mtu": 1500, "isolate": "true" },
     "ipam_options": { "driver": "host-local", "other": 1 }
  })";
  auto n = parse_network(text);
  ASSERT_TRUE(n) << n.error();
  EXPECT_EQ(n->name, "podman1");
  EXPECT_EQ(n->subnets.size(), 2u);
  EXPECT_EQ(n->subnets[1].subnet, "fd00:1::/64");
  EXPECT_TRUE(n->ipv6_enabled);
  EXPECT_EQ(n->options.at("mtu"), "1500");
  EXPECT_EQ(n->ipam_driver, "host-local");
  auto v4 = first_ipv4(*n);
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->gateway.to_string(), "10.89.0.1");
}

TEST(NetworkJson, DefaultsWhenFieldsMissing) {
  auto n = parse_network(R"({"name":"a"})");
  ASSERT_TRUE(n) << n.error();
  EXPECT_EQ(n->driver, "bridge");
  EXPECT_TRUE(n->dns_enabled);
  EXPECT_FALSE(n->internal);
  EXPECT_TRUE(n->subnets.empty());
}

TEST(NetworkJson, RejectsBadInput) {
  EXPECT_FALSE(parse_network(""));
  EXPECT_FALSE(parse_network("[]"));
  EXPECT_FALSE(parse_network("{"));
  EXPECT_FALSE(parse_network(R"({"name": 5})"));
  EXPECT_FALSE(parse_network(R"({"id": "x"})"));
  EXPECT_FALSE(parse_network(R"({"name":"../etc"})"));
  EXPECT_FALSE(parse_network(R"({"name":"a","driver":"macvlan"})"));
  EXPECT_FALSE(parse_network(R"({"name":"a","subnets":{}})"));
  EXPECT_FALSE(parse_network(R"({"name":"a","subnets":[{"subnet":"10.0.0.0"}]})"));
  EXPECT_FALSE(parse_network(R"({"name":"a","subnets":[{"subnet":"10.0.0.0/24","gateway":"10.0.1.1"}]})"));
  EXPECT_FALSE(parse_network(R"({"name":"a","subnets":[5]})"));
  EXPECT_FALSE(parse_network(R"({"name":"a","internal":"yes"})"));
}

TEST(NetworkName, Charset) {
  EXPECT_FALSE(check_network_name("net-1.a_b"));
  EXPECT_TRUE(check_network_name(""));
  EXPECT_TRUE(check_network_name("-x"));
  EXPECT_TRUE(check_network_name("a/b"));
  EXPECT_TRUE(check_network_name("a b"));
  EXPECT_TRUE(check_network_name(std::string(65, 'a')));
}

TEST(NetworkStateJson, RoundTripAndLeases) {
  NetworkState s;
  s.network = "web";
  s.members.push_back({"c1", {"db", "cache"}, "10.89.0.2", "fd89::2", "/proc/1/ns/net", "4:4026532", "eth0", "vethabc", {}});
  s.members.push_back({"c2", {}, "10.89.0.3", "", "4242", "", "eth1", "vethdef", {}});
  s.members[1].ports.push_back({"udp", "127.0.0.1", 5353, 53, 7});
  s.members[1].ports.push_back({"tcp", "0.0.0.0", 8080, 80, 8});
  auto back = parse_state(serialize_state(s));
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, s);
  EXPECT_EQ(back->leased().size(), 2u);
  ASSERT_EQ(back->leased6().size(), 1u);
  EXPECT_EQ(back->leased6()[0].to_string(), "fd89::2");
  ASSERT_TRUE(back->find("c2"));
  EXPECT_EQ(back->find("c2")->interface, "eth1");
  ASSERT_EQ(back->find("c2")->ports.size(), 2u);
  EXPECT_EQ(back->find("c2")->ports[0].forward_id, 7u);
  EXPECT_EQ(back->find("c2")->ports[1].container_port, 80);
  EXPECT_FALSE(back->find("c3"));
  EXPECT_FALSE(parse_state("{\"members\":[{\"ipv4\":\"1.2.3.4\"}]}"));
  EXPECT_FALSE(parse_state("nope"));
}

TEST(NetworkOptions, AllowHostLoopbackIsTheOneKnownOption) {
  Network n = sample();
  EXPECT_FALSE(allows_host_loopback(n)) << "off unless asked for";
  EXPECT_EQ(set_network_option(n.options, "allow_host_loopback=true"), std::nullopt);
  EXPECT_TRUE(allows_host_loopback(n));
  auto back = parse_network(serialize_network(n));
  ASSERT_TRUE(back) << back.error();
  EXPECT_TRUE(allows_host_loopback(*back)) << "kept in the network file";
  EXPECT_EQ(set_network_option(n.options, "allow_host_loopback=false"), std::nullopt);
  EXPECT_FALSE(allows_host_loopback(n));
  for (const char* bad : {"allow_host_loopback=yes", "allow_host_loopback", "mtu=1400", "=true", ""})
    EXPECT_NE(set_network_option(n.options, bad), std::nullopt) << bad;
  n.options["allow_host_loopback"] = "TRUE";  // a hand-edited file: only "true" counts
  EXPECT_FALSE(allows_host_loopback(n));
}
