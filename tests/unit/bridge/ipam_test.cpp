#include "bridge/ipam.h"

#include <gtest/gtest.h>

using namespace netd::bridge;
namespace net = netd::net;

namespace {
net::Ipv4Cidr C(const char* s) { return *net::Ipv4Cidr::parse(s); }
net::Ipv4Addr A(const char* s) { return *net::Ipv4Addr::parse(s); }
Ipv4Net net24(const char* sub, const char* gw) { return Ipv4Net{C(sub), A(gw)}; }
}  // namespace

TEST(BridgeAddresses, Ipv4ParseAndFormat) {
  EXPECT_EQ(A("10.89.3.7").to_string(), "10.89.3.7");
  EXPECT_FALSE(net::Ipv4Addr::parse("10.89.3"));
  EXPECT_FALSE(net::Ipv4Addr::parse("10.89.3.256"));
  EXPECT_FALSE(net::Ipv4Addr::parse(""));
  EXPECT_FALSE(net::Ipv4Cidr::parse("10.0.0.0"));
  EXPECT_FALSE(net::Ipv4Cidr::parse("10.0.0.0/33"));
  EXPECT_FALSE(net::Ipv4Cidr::parse("10.0.0.0/2x"));
  EXPECT_EQ(C("10.1.2.3/16").network().to_string(), "10.1.0.0");
  EXPECT_EQ(C("10.1.2.3/16").broadcast().to_string(), "10.1.255.255");
  EXPECT_TRUE(C("10.0.0.0/8").overlaps(C("10.89.0.0/24")));
  EXPECT_TRUE(C("10.89.0.0/24").overlaps(C("10.0.0.0/8")));
  EXPECT_FALSE(C("10.89.0.0/24").overlaps(C("10.89.1.0/24")));
  EXPECT_TRUE(C("0.0.0.0/0").contains(A("1.2.3.4")));
}

TEST(IpamSubnet, FirstIsDefaultPoolStart) {
  auto s = next_free_subnet({});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->to_string(), "10.89.0.0/24");
}

TEST(IpamSubnet, SkipsUsedAndOverlapping) {
  auto s = next_free_subnet({C("10.89.0.0/24"), C("10.89.2.0/23")});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->to_string(), "10.89.1.0/24");
  s = next_free_subnet({C("10.89.0.0/24"), C("10.89.1.0/24"), C("10.89.2.0/23")});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->to_string(), "10.89.4.0/24");
  // A foreign network covering the whole pool leaves nothing.
  auto none = next_free_subnet({C("10.0.0.0/8")});
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().find("--subnet"), std::string::npos);
}

TEST(IpamSubnet, PoolExhaustedAfter256) {
  std::vector<net::Ipv4Cidr> used;
  for (int i = 0; i < 256; ++i) {
    auto s = next_free_subnet(used);
    ASSERT_TRUE(s) << i;
    used.push_back(*s);
  }
  EXPECT_EQ(used.back().to_string(), "10.89.255.0/24");
  EXPECT_FALSE(next_free_subnet(used));
}

TEST(IpamAddress, SkipsGatewayAndLeases) {
  auto n = net24("10.89.0.0/24", "10.89.0.1");
  auto a = allocate_address(n, std::nullopt, {});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->to_string(), "10.89.0.2");
  a = allocate_address(n, std::nullopt, {A("10.89.0.2"), A("10.89.0.4")});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->to_string(), "10.89.0.3");
}

TEST(IpamAddress, GatewayNotFirst) {
  auto n = net24("192.168.5.0/24", "192.168.5.254");
  auto a = allocate_address(n, std::nullopt, {});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->to_string(), "192.168.5.1");
}

TEST(IpamAddress, HonoursLeaseRange) {
  auto n = net24("10.89.0.0/24", "10.89.0.1");
  LeaseRange r{"10.89.0.100", "10.89.0.101"};
  std::vector<net::Ipv4Addr> leased;
  for (int i = 0; i < 2; ++i) {
    auto a = allocate_address(n, r, leased);
    ASSERT_TRUE(a);
    leased.push_back(*a);
  }
  EXPECT_EQ(leased[0].to_string(), "10.89.0.100");
  EXPECT_EQ(leased[1].to_string(), "10.89.0.101");
  EXPECT_FALSE(allocate_address(n, r, leased));
}

TEST(IpamAddress, ExhaustsSmallSubnetWithoutDuplicates) {
  auto n = net24("10.89.9.0/29", "10.89.9.1");  // hosts .1-.6, gateway .1
  std::vector<net::Ipv4Addr> leased;
  for (;;) {
    auto a = allocate_address(n, std::nullopt, leased);
    if (!a) break;
    for (auto l : leased) ASSERT_NE(l, *a);
    leased.push_back(*a);
  }
  EXPECT_EQ(leased.size(), 5u);
  EXPECT_EQ(leased.back().to_string(), "10.89.9.6");
}

TEST(IpamStatic, Checks) {
  auto n = net24("10.89.0.0/24", "10.89.0.1");
  EXPECT_FALSE(check_static_address(n, A("10.89.0.9"), {}));
  EXPECT_TRUE(check_static_address(n, A("10.89.1.9"), {}));
  EXPECT_TRUE(check_static_address(n, A("10.89.0.0"), {}));
  EXPECT_TRUE(check_static_address(n, A("10.89.0.255"), {}));
  EXPECT_TRUE(check_static_address(n, A("10.89.0.1"), {}));
  EXPECT_TRUE(check_static_address(n, A("10.89.0.9"), {A("10.89.0.9")}));
}

TEST(BridgeAddresses, Ipv6ParseFormatContain) {
  auto c = net::Ipv6Cidr::parse("fd89:0:0:3::77/64");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->network().to_string(), "fd89:0:0:3::");
  EXPECT_EQ(c->host(1).to_string(), "fd89:0:0:3::1");
  EXPECT_EQ(c->host(0x1ff).to_string(), "fd89:0:0:3::1ff");
  EXPECT_TRUE(c->contains(*net::Ipv6Addr::parse("fd89:0:0:3:ffff::1")));
  EXPECT_FALSE(c->contains(*net::Ipv6Addr::parse("fd89:0:0:4::1")));
  EXPECT_TRUE(net::Ipv6Cidr::parse("fd89::/48")->overlaps(*c));
  EXPECT_FALSE(net::Ipv6Cidr::parse("fd89:0:0:4::/64")->overlaps(*c));
  EXPECT_FALSE(net::Ipv6Cidr::parse("fd89::"));
  EXPECT_FALSE(net::Ipv6Cidr::parse("fd89::/129"));
  EXPECT_FALSE(net::Ipv6Cidr::parse("10.0.0.0/8"));
  EXPECT_FALSE(net::Ipv6Addr::parse("fd89::g"));
  EXPECT_EQ((*net::Ipv6Cidr::parse("fd89:0:0:0:0:0:0:0/64")).to_string(), "fd89::/64");
}

TEST(IpamSubnet6, NextFreeSlash64) {
  auto a = next_free_subnet6({});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->to_string(), "fd89::/64");
  auto b = next_free_subnet6({*a, *net::Ipv6Cidr::parse("fd89:0:0:1::/64")});
  ASSERT_TRUE(b);
  EXPECT_EQ(b->to_string(), "fd89:0:0:2::/64");
  // A foreign network covering the whole pool leaves nothing.
  EXPECT_FALSE(next_free_subnet6({*net::Ipv6Cidr::parse("fd89::/48")}));
}

TEST(IpamAddress6, SkipsGatewayAndLeases) {
  Ipv6Net n{*net::Ipv6Cidr::parse("fd89:0:0:2::/64"), *net::Ipv6Addr::parse("fd89:0:0:2::1")};
  EXPECT_EQ((*allocate_address6(n, {})).to_string(), "fd89:0:0:2::2");
  EXPECT_EQ((*allocate_address6(n, {*net::Ipv6Addr::parse("fd89:0:0:2::2"), *net::Ipv6Addr::parse("fd89:0:0:2::3")})).to_string(),
            "fd89:0:0:2::4");
  Ipv6Net g{*net::Ipv6Cidr::parse("fd89:0:0:2::/64"), *net::Ipv6Addr::parse("fd89:0:0:2::2")};  // gateway not ::1
  EXPECT_EQ((*allocate_address6(g, {})).to_string(), "fd89:0:0:2::1");
}
