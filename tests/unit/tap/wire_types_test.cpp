// Wire types: address parsing/printing, CIDR arithmetic, sequence-number wraparound.
#include <gtest/gtest.h>

#include "tap/wire/types.h"

namespace netd::wire {
namespace {

TEST(WireMacAddr, ParseAndPrint) {
  auto m = MacAddr::parse("52:54:00:12:34:56");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->b, (std::array<uint8_t, 6>{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}));
  EXPECT_EQ(m->to_string(), "52:54:00:12:34:56");
  auto upper = MacAddr::parse("AA:bb:Cc:0D:e0:FF");
  ASSERT_TRUE(upper);
  EXPECT_EQ(upper->to_string(), "aa:bb:cc:0d:e0:ff");
}

TEST(WireMacAddr, ParseRejectsMalformed) {
  for (const char* s : {"", "52:54:00:12:34", "52:54:00:12:34:56:", "52-54-00-12-34-56",
                        "52:54:00:12:34:5g", "5:254:00:12:34:56", "52:54:00:12:34:567",
                        " 52:54:00:12:34:56", "52:54:00:12:34:5"}) {
    EXPECT_FALSE(MacAddr::parse(s)) << s;
  }
}

TEST(WireMacAddr, BroadcastAndMulticast) {
  EXPECT_TRUE(MacAddr::broadcast().is_broadcast());
  EXPECT_TRUE(MacAddr::broadcast().is_multicast());
  EXPECT_EQ(MacAddr::broadcast().to_string(), "ff:ff:ff:ff:ff:ff");
  auto mc = *MacAddr::parse("01:00:5e:00:00:01");
  EXPECT_TRUE(mc.is_multicast());
  EXPECT_FALSE(mc.is_broadcast());
  auto uc = *MacAddr::parse("52:54:00:12:34:56");
  EXPECT_FALSE(uc.is_multicast());
  EXPECT_FALSE(uc.is_broadcast());
  EXPECT_NE(uc, mc);
}

TEST(WireIpv4Addr, ParseAndPrint) {
  auto a = Ipv4Addr::parse("10.0.2.15");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->v, 0x0a00020fu);
  EXPECT_EQ(*a, Ipv4Addr::from_octets(10, 0, 2, 15));
  EXPECT_EQ(a->to_string(), "10.0.2.15");
  EXPECT_EQ(Ipv4Addr::parse("255.255.255.255")->v, 0xffffffffu);
  EXPECT_EQ(Ipv4Addr::parse("0.0.0.0")->v, 0u);
}

TEST(WireIpv4Addr, ParseRejectsMalformed) {
  for (const char* s : {"", "10.0.2", "10.0.2.15.1", "10.0.2.256", "10.0.2.-1", "10..2.15",
                        "010.0.2.15", "10.0.2.15 ", "a.b.c.d", "10.0.2.", ".10.0.2",
                        "1000.0.2.1", "10.0.2.15/24"}) {
    EXPECT_FALSE(Ipv4Addr::parse(s)) << s;
  }
}

TEST(WireIpv4Addr, Classes) {
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

TEST(WireIpv4Cidr, ParseAndArithmetic) {
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

TEST(WireIpv4Cidr, HostBitsKeptNetworkMasked) {
  auto c = *Ipv4Cidr::parse("10.0.2.15/24");
  EXPECT_EQ(c.addr.to_string(), "10.0.2.15");
  EXPECT_EQ(c.network().to_string(), "10.0.2.0");
  EXPECT_EQ(c.to_string(), "10.0.2.15/24");
}

TEST(WireIpv4Cidr, EdgePrefixes) {
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

TEST(WireIpv4Cidr, ParseRejectsMalformed) {
  for (const char* s : {"10.0.2.0", "10.0.2.0/", "10.0.2.0/33", "10.0.2.0/-1", "10.0.2.0/024",
                        "10.0.2.0/2x", "10.0.2/24", "/24", "10.0.2.0/24/1", "10.0.2.0/100"}) {
    EXPECT_FALSE(Ipv4Cidr::parse(s)) << s;
  }
}

TEST(WireSeqNum, ArithmeticWraps) {
  SeqNum a(0xfffffff0u);
  SeqNum b = a + 0x20;
  EXPECT_EQ(b.value(), 0x10u);
  EXPECT_EQ(b - a, 0x20);
  EXPECT_EQ(a - b, -0x20);
  EXPECT_EQ((b - 0x20u), a);
  SeqNum c = a;
  c += 0x10;
  EXPECT_EQ(c.value(), 0u);
}

TEST(WireSeqNum, ComparisonsAcrossTheWrap) {
  SeqNum before(0xffffff00u);
  SeqNum after(0x00000100u);  // 0x200 ahead, across zero
  EXPECT_TRUE(before < after);
  EXPECT_TRUE(before <= after);
  EXPECT_TRUE(after > before);
  EXPECT_TRUE(after >= before);
  EXPECT_FALSE(after < before);
  EXPECT_FALSE(before > after);
  EXPECT_TRUE(before <= before);
  EXPECT_TRUE(before >= before);
  EXPECT_FALSE(before < before);
  EXPECT_EQ(before, SeqNum(0xffffff00u));
  EXPECT_NE(before, after);
}

TEST(WireSeqNum, HalfSpaceBoundary) {
  SeqNum z(0);
  // Just under 2^31 ahead is still "after"; exactly 2^31 flips sign.
  EXPECT_LT(z, SeqNum(0x7fffffffu));
  EXPECT_GT(z, SeqNum(0x80000001u));
  EXPECT_EQ(SeqNum(0x80000000u) - z, INT32_MIN);
}

TEST(WireError, Names) {
  EXPECT_STREQ(to_string(WireError::Truncated), "truncated");
  EXPECT_STREQ(to_string(WireError::BadChecksum), "bad checksum");
  EXPECT_STREQ(to_string(WireError::Malformed), "malformed");
}

TEST(WireEtherType, ComparesWithRawField) {
  EXPECT_TRUE(EtherType::Ipv4 == uint16_t{0x0800});
  EXPECT_TRUE(uint16_t{0x0806} == EtherType::Arp);
  EXPECT_FALSE(EtherType::Ipv6 == uint16_t{0x0800});
}

TEST(WireIpv6Addr, ParseAndPrint) {
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

TEST(WireIpv6Addr, Classes) {
  EXPECT_TRUE(Ipv6Addr{}.is_unspecified());
  EXPECT_TRUE(Ipv6Addr::loopback().is_loopback());
  EXPECT_TRUE(Ipv6Addr::parse("ff02::1")->is_multicast());
  EXPECT_TRUE(Ipv6Addr::parse("fe80::1")->is_link_local());
  EXPECT_TRUE(Ipv6Addr::parse("febf::1")->is_link_local());
  EXPECT_FALSE(Ipv6Addr::parse("fec0::1")->is_link_local());
  EXPECT_TRUE(Ipv6Addr::parse("::ffff:10.0.2.2")->is_v4_mapped());
  EXPECT_FALSE(Ipv6Addr::parse("fd00::2")->is_v4_mapped());
}

TEST(WireIpv6Addr, SolicitedNodeGroupAndMac) {
  auto a = *Ipv6Addr::parse("fd00::12:3456");
  EXPECT_EQ(a.solicited_node(), *Ipv6Addr::parse("ff02::1:ff12:3456"));
  EXPECT_EQ(a.solicited_node().multicast_mac(), *MacAddr::parse("33:33:ff:12:34:56"));
}

TEST(WireIpv6Cidr, ParseContainsAndHosts) {
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

TEST(WireIpAddr, HoldsEitherFamily) {
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

}  // namespace
}  // namespace netd::wire
