// Wire types: MAC addresses, sequence-number wraparound, error names; the
// address types are tested with common/net (tests/unit/common/net_ip_test.cpp).
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

TEST(WireIpv6Addr, SolicitedNodeGroupAndMac) {
  auto a = *Ipv6Addr::parse("fd00::12:3456");
  EXPECT_EQ(a.solicited_node(), *Ipv6Addr::parse("ff02::1:ff12:3456"));
  EXPECT_EQ(multicast_mac(a.solicited_node()), *MacAddr::parse("33:33:ff:12:34:56"));
}

}  // namespace
}  // namespace netd::wire
