// common/net: the address vocabulary. Fixed strings, valid and invalid, the
// edge prefixes, the v4-mapped form, hashing, and the socket-address
// round trip; plus the one decimal parser the address parsers use.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>
#include <unordered_set>

#include "common/net/endpoint.h"
#include "common/net/ip.h"
#include "common/parse_number.h"

namespace netd::net {
namespace {

TEST(NetIpv4Addr, ParseAndPrint) {
  auto a = Ipv4Addr::parse("10.0.2.15");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->v, 0x0a00020fu);
  EXPECT_EQ(*a, Ipv4Addr::from_octets(10, 0, 2, 15));
  EXPECT_EQ(a->to_string(), "10.0.2.15");
  EXPECT_EQ(Ipv4Addr::parse("255.255.255.255")->v, 0xffffffffu);
  EXPECT_EQ(Ipv4Addr::parse("0.0.0.0")->v, 0u);
}

TEST(NetIpv4Addr, ParseRejectsMalformed) {
  for (const char* s : {"", "10.0.2", "10.0.2.15.1", "10.0.2.256", "10.0.2.-1", "10..2.15",
                        "010.0.2.15", "10.0.2.15 ", "a.b.c.d", "10.0.2.", ".10.0.2",
                        "1000.0.2.1", "10.0.2.15/24"}) {
    EXPECT_FALSE(Ipv4Addr::parse(s)) << s;
  }
}

TEST(NetIpv4Addr, Classes) {
  EXPECT_TRUE(Ipv4Addr::from_octets(127, 0, 0, 1).is_loopback());
  EXPECT_TRUE(Ipv4Addr::from_octets(127, 255, 1, 2).is_loopback());
  EXPECT_FALSE(Ipv4Addr::from_octets(128, 0, 0, 1).is_loopback());
  EXPECT_TRUE(Ipv4Addr::from_octets(224, 0, 0, 251).is_multicast());
  EXPECT_TRUE(Ipv4Addr::from_octets(239, 255, 255, 250).is_multicast());
  EXPECT_FALSE(Ipv4Addr::from_octets(240, 0, 0, 1).is_multicast());
  EXPECT_TRUE(Ipv4Addr::from_octets(255, 255, 255, 255).is_broadcast());
  EXPECT_FALSE(Ipv4Addr::from_octets(10, 0, 2, 255).is_broadcast());
  EXPECT_TRUE(Ipv4Addr{}.is_unspecified());
  EXPECT_LT(Ipv4Addr::from_octets(10, 0, 2, 2), Ipv4Addr::from_octets(10, 0, 2, 15));
  EXPECT_GT(Ipv4Addr::from_octets(11, 0, 0, 0), Ipv4Addr::from_octets(10, 255, 255, 255));
}

TEST(NetIpv4Cidr, ParseAndArithmetic) {
  auto c = Ipv4Cidr::parse("10.0.2.0/24");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->prefix, 24);
  EXPECT_EQ(c->netmask().to_string(), "255.255.255.0");
  EXPECT_EQ(c->network().to_string(), "10.0.2.0");
  EXPECT_EQ(c->broadcast().to_string(), "10.0.2.255");
  EXPECT_EQ(c->host(2).to_string(), "10.0.2.2");
  EXPECT_EQ(c->host(15).to_string(), "10.0.2.15");
  EXPECT_TRUE(c->contains(*Ipv4Addr::parse("10.0.2.0")));
  EXPECT_TRUE(c->contains(*Ipv4Addr::parse("10.0.2.255")));
  EXPECT_FALSE(c->contains(*Ipv4Addr::parse("10.0.3.0")));
  EXPECT_FALSE(c->contains(*Ipv4Addr::parse("10.0.1.255")));
  EXPECT_EQ(c->to_string(), "10.0.2.0/24");
}

TEST(NetIpv4Cidr, HostBitsKeptNetworkMasked) {
  auto c = *Ipv4Cidr::parse("10.0.2.15/24");
  EXPECT_EQ(c.addr.to_string(), "10.0.2.15");
  EXPECT_EQ(c.network().to_string(), "10.0.2.0");
  EXPECT_EQ(c.to_string(), "10.0.2.15/24");
}

TEST(NetIpv4Cidr, EdgePrefixes) {
  auto all = *Ipv4Cidr::parse("0.0.0.0/0");
  EXPECT_EQ(all.netmask().v, 0u);
  EXPECT_TRUE(all.contains(*Ipv4Addr::parse("203.0.113.7")));
  EXPECT_EQ(all.broadcast().v, 0xffffffffu);
  auto one = *Ipv4Cidr::parse("192.0.2.1/32");
  EXPECT_EQ(one.netmask().v, 0xffffffffu);
  EXPECT_TRUE(one.contains(*Ipv4Addr::parse("192.0.2.1")));
  EXPECT_FALSE(one.contains(*Ipv4Addr::parse("192.0.2.2")));
  auto odd = *Ipv4Cidr::parse("172.16.0.0/12");
  EXPECT_TRUE(odd.contains(*Ipv4Addr::parse("172.31.255.255")));
  EXPECT_FALSE(odd.contains(*Ipv4Addr::parse("172.32.0.0")));
}

TEST(NetIpv4Cidr, ParseRejectsMalformed) {
  for (const char* s : {"10.0.2.0", "10.0.2.0/", "10.0.2.0/33", "10.0.2.0/-1", "10.0.2.0/024",
                        "10.0.2.0/2x", "10.0.2/24", "/24", "10.0.2.0/24/1", "10.0.2.0/100"}) {
    EXPECT_FALSE(Ipv4Cidr::parse(s)) << s;
  }
}

TEST(NetIpv6Addr, ParseAndPrint) {
  auto a = Ipv6Addr::parse("fd00::2");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->b[0], 0xfd);
  EXPECT_EQ(a->b[15], 2);
  EXPECT_EQ(a->to_string(), "fd00::2");
  EXPECT_EQ(Ipv6Addr::parse("FD00:0:0:0:0:0:0:2")->to_string(), "fd00::2");
  EXPECT_EQ(Ipv6Addr::parse("::1"), Ipv6Addr::loopback());
  for (const char* s : {"", "fd00::2::3", "fd00::/64", "[::1]", "fe80::1%eth0", "12345::", "1.2.3.4", "g::"})
    EXPECT_FALSE(Ipv6Addr::parse(s)) << s;
}

TEST(NetIpv6Addr, Classes) {
  EXPECT_TRUE(Ipv6Addr{}.is_unspecified());
  EXPECT_TRUE(Ipv6Addr::loopback().is_loopback());
  EXPECT_TRUE(Ipv6Addr::parse("ff02::1")->is_multicast());
  EXPECT_TRUE(Ipv6Addr::parse("fe80::1")->is_link_local());
  EXPECT_TRUE(Ipv6Addr::parse("febf::1")->is_link_local());
  EXPECT_FALSE(Ipv6Addr::parse("fec0::1")->is_link_local());
  EXPECT_TRUE(Ipv6Addr::parse("::ffff:10.0.2.2")->is_v4_mapped());
  EXPECT_FALSE(Ipv6Addr::parse("fd00::2")->is_v4_mapped());
}

TEST(NetIpv6Cidr, ParseContainsAndHosts) {
  auto c = Ipv6Cidr::parse("fd00::/64");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->prefix, 64);
  EXPECT_EQ(c->to_string(), "fd00::/64");
  EXPECT_EQ(c->host(2), *Ipv6Addr::parse("fd00::2"));
  EXPECT_EQ(c->host(0x1ff), *Ipv6Addr::parse("fd00::1ff"));
  EXPECT_TRUE(c->contains(*Ipv6Addr::parse("fd00::5054:ff:fe12:3456")));
  EXPECT_FALSE(c->contains(*Ipv6Addr::parse("fd00:0:0:1::1")));
  EXPECT_EQ(Ipv6Cidr::parse("fd00:1:2:3:4::/60")->network(), *Ipv6Addr::parse("fd00:1:2::"));
  EXPECT_TRUE(Ipv6Cidr::parse("::/0")->contains(*Ipv6Addr::parse("2001:db8::1")));
  for (const char* s : {"fd00::", "fd00::/129", "fd00::/064", "fd00::/", "10.0.2.0/24", "fd00::/6a"})
    EXPECT_FALSE(Ipv6Cidr::parse(s)) << s;
}

TEST(NetIpAddr, HoldsEitherFamily) {
  IpAddr v4 = Ipv4Addr::from_octets(10, 0, 2, 2);
  IpAddr v6 = *Ipv6Addr::parse("fd00::2");
  EXPECT_TRUE(v4.is_v4());
  EXPECT_TRUE(v6.is_v6());
  EXPECT_EQ(v4.v4(), Ipv4Addr::from_octets(10, 0, 2, 2));
  EXPECT_EQ(v4.to_string(), "10.0.2.2");
  EXPECT_EQ(v6.to_string(), "fd00::2");
  EXPECT_NE(v4, v6);
  EXPECT_EQ(IpAddr::parse("10.0.2.2"), v4);
  EXPECT_EQ(IpAddr::parse("fd00::2"), v6);
  EXPECT_FALSE(IpAddr::parse("fd00::2/64"));
  EXPECT_TRUE(IpAddr(Ipv4Addr::from_octets(127, 0, 0, 1)).is_loopback());
  EXPECT_TRUE(IpAddr(Ipv6Addr::loopback()).is_loopback());
  EXPECT_TRUE(IpAddr(*Ipv6Addr::parse("ff02::1")).is_multicast());
  EXPECT_TRUE(IpAddr(Ipv4Addr{0}).is_unspecified());
  EXPECT_TRUE(IpAddr(Ipv6Addr{}).is_unspecified());
  // 0.0.0.0 and :: are different addresses of different families.
  EXPECT_NE(IpAddr(Ipv4Addr{0}), IpAddr(Ipv6Addr{}));
}

TEST(NetIpv4Cidr, Overlaps) {
  auto a = *Ipv4Cidr::parse("10.88.0.0/16");
  EXPECT_TRUE(a.overlaps(*Ipv4Cidr::parse("10.88.5.0/24")));
  EXPECT_TRUE(Ipv4Cidr::parse("10.88.5.0/24")->overlaps(a));
  EXPECT_TRUE(a.overlaps(*Ipv4Cidr::parse("10.0.0.0/8")));
  EXPECT_FALSE(a.overlaps(*Ipv4Cidr::parse("10.89.0.0/16")));
  EXPECT_TRUE(a.overlaps(*Ipv4Cidr::parse("0.0.0.0/0")));
}

TEST(NetIpv6Cidr, OverlapsAndCarry) {
  auto a = *Ipv6Cidr::parse("fd00:1::/64");
  EXPECT_TRUE(a.overlaps(*Ipv6Cidr::parse("fd00::/16")));
  EXPECT_FALSE(a.overlaps(*Ipv6Cidr::parse("fd00:2::/64")));
  // host() carries past the low 32 bits when the network has bits there.
  auto c = *Ipv6Cidr::parse("fd00::ffff:ffff:ffff:ff00/120");
  EXPECT_EQ(c.host(0x100), *Ipv6Addr::parse("fd00:0:0:1::"));
}

TEST(NetIpAddr, V4MappedTextIsTheIpv4Address) {
  auto mapped = IpAddr::parse("::ffff:127.0.0.1");
  ASSERT_TRUE(mapped);
  EXPECT_TRUE(mapped->is_v4());
  EXPECT_EQ(*mapped, *IpAddr::parse("127.0.0.1"));
  EXPECT_EQ(mapped->to_string(), "127.0.0.1");
  EXPECT_TRUE(mapped->is_loopback());
  // ::ffff:0:0/96 only; the deprecated v4-compatible form ::a.b.c.d is IPv6.
  auto compat = IpAddr::parse("::1.2.3.4");
  ASSERT_TRUE(compat);
  EXPECT_TRUE(compat->is_v6());
}

TEST(NetIpAddr, RejectsWhatSocketsWouldNotTake) {
  const std::string too_long(60, '1');  // (named: it must outlive the list below)
  for (const char* s : {"", " 1.2.3.4", "1.2.3.4\n", "01.2.3.4", "1.2.3.4.", "0x7f.0.0.1", "1.2.3.4:80",
                        "[::1]", "::1%lo", "localhost", "1.2.3", "4294967296", "::ffff:1.2.3.256",
                        "1:2:3:4:5:6:7:8:9", too_long.c_str()})
    EXPECT_FALSE(IpAddr::parse(s)) << s;
  // Embedded NUL: the text ends where its length says, not at the NUL.
  EXPECT_FALSE(IpAddr::parse(std::string_view("1.2.3.4\0", 8)));
  EXPECT_FALSE(IpAddr::parse(std::string_view("::1\0", 4)));
}

TEST(NetIpAddr, HashesByValue) {
  std::unordered_set<IpAddr> set{*IpAddr::parse("10.0.2.2"), *IpAddr::parse("fd00::2")};
  EXPECT_TRUE(set.contains(*IpAddr::parse("::ffff:10.0.2.2")));
  EXPECT_TRUE(set.contains(*IpAddr::parse("FD00:0::2")));
  EXPECT_FALSE(set.contains(*IpAddr::parse("10.0.2.3")));
  EXPECT_EQ(std::hash<Ipv4Addr>{}(Ipv4Addr{7}), std::hash<Ipv4Addr>{}(Ipv4Addr{7}));
}

TEST(NetIpv4Addr, Octets) {
  EXPECT_EQ(Ipv4Addr::from_octets(10, 0, 2, 15).octets(), (std::array<uint8_t, 4>{10, 0, 2, 15}));
}

TEST(NetEndpoint, SockaddrRoundTrip) {
  for (const char* text : {"10.0.2.2", "::1", "fd00::2", "0.0.0.0", "::"}) {
    Endpoint e{*IpAddr::parse(text), 8080};
    SockAddr sa = to_sockaddr(e);
    EXPECT_EQ(sa.family(), e.addr.is_v4() ? AF_INET : AF_INET6) << text;
    EXPECT_EQ(sa.len, e.addr.is_v4() ? sizeof(sockaddr_in) : sizeof(sockaddr_in6)) << text;
    EXPECT_EQ(endpoint_from(sa.ss), e) << text;
  }
}

TEST(NetEndpoint, SockaddrLayout) {
  SockAddr sa = to_sockaddr(*IpAddr::parse("192.0.2.1"), 53);
  sockaddr_in sin;
  std::memcpy(&sin, &sa.ss, sizeof sin);
  EXPECT_EQ(sin.sin_port, htons(53));
  EXPECT_EQ(sin.sin_addr.s_addr, htonl(0xc0000201));
}

TEST(NetEndpoint, V4MappedPeerComesBackAsIpv4) {
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(40000);
  ASSERT_EQ(inet_pton(AF_INET6, "::ffff:127.0.0.1", &sin6.sin6_addr), 1);
  auto e = endpoint_from(reinterpret_cast<const sockaddr*>(&sin6));
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->addr.is_v4());
  EXPECT_EQ(e->port, 40000);
  EXPECT_EQ(to_string(*e), "127.0.0.1:40000");
}

TEST(NetEndpoint, OtherFamiliesAndText) {
  sockaddr_storage ss{};
  ss.ss_family = AF_UNIX;
  EXPECT_FALSE(endpoint_from(ss));
  EXPECT_EQ(to_string(Endpoint{*IpAddr::parse("fd00::2"), 53}), "[fd00::2]:53");
  EXPECT_EQ(to_string(Endpoint{*IpAddr::parse("10.0.2.3"), 0}), "10.0.2.3:0");
}

TEST(ParseDecimal, DigitsOnlyWholeTextInRange) {
  EXPECT_EQ(parse_decimal<uint16_t>("65535"), 65535);
  EXPECT_EQ(parse_decimal<uint16_t>("0080"), 80);
  EXPECT_EQ(parse_decimal<unsigned>("7", 1, 10), 7u);
  for (const char* s : {"", "65536", "-1", "+1", " 1", "1 ", "1x", "0x10", "99999999999999999999"})
    EXPECT_FALSE(parse_decimal<uint16_t>(s)) << s;
  EXPECT_FALSE(parse_decimal<unsigned>("0", 1, 10));
  EXPECT_FALSE(parse_decimal<unsigned>("11", 1, 10));
}

}  // namespace
}  // namespace netd::net
