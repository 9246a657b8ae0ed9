// Internet checksum: known values, odd-length pieces, pseudo-header.
#include <gtest/gtest.h>

#include <vector>

#include "tap/wire/bytes.h"
#include "tap/wire/checksum.h"
#include "wire_frames.h"

namespace netd::wire {
namespace {

std::vector<std::byte> v(std::initializer_list<uint8_t> l) {
  std::vector<std::byte> out;
  for (uint8_t x : l) out.push_back(static_cast<std::byte>(x));
  return out;
}

TEST(WireChecksum, Rfc1071Example) {
  // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2; checksum 220d.
  auto d = v({0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7});
  EXPECT_EQ(internet_checksum(d), 0x220d);
}

TEST(WireChecksum, EmptyAndZeros) {
  EXPECT_EQ(internet_checksum({}), 0xffff);
  EXPECT_EQ(internet_checksum(v({0, 0, 0})), 0xffff);
}

TEST(WireChecksum, OddLengthPadsWithZero) {
  EXPECT_EQ(internet_checksum(v({0x12})), static_cast<uint16_t>(~0x1200));
  EXPECT_EQ(internet_checksum(v({0x12, 0x34, 0x56})), static_cast<uint16_t>(~(0x1234 + 0x5600)));
}

TEST(WireChecksum, PiecesOfAnyLengthEqualTheWhole) {
  auto frame = testdata::bytes(testdata::kDhcpDiscoverFrame);
  const uint16_t whole = internet_checksum(frame);
  // Every split into three pieces (odd and even), including empty ones.
  for (size_t i = 0; i <= 40; ++i) {
    for (size_t j = i; j <= 45; ++j) {
      Checksum c;
      c.add(frame.subspan(0, i));
      c.add(frame.subspan(i, j - i));
      c.add(frame.subspan(j));
      ASSERT_EQ(c.finish(), whole) << i << " " << j;
    }
  }
  // Byte by byte.
  Checksum c;
  for (size_t i = 0; i < frame.size(); ++i) c.add(frame.subspan(i, 1));
  EXPECT_EQ(c.finish(), whole);
}

TEST(WireChecksum, Add16And32MatchBytes) {
  auto d = v({0xde, 0xad, 0xbe, 0xef, 0x01, 0x02});
  Checksum a;
  a.add32(0xdeadbeef);
  a.add16(0x0102);
  EXPECT_EQ(a.finish(), internet_checksum(d));
}

TEST(WireChecksum, CarriesFoldRepeatedly) {
  std::vector<std::byte> ff(70000, std::byte{0xff});
  // A sum of 0xffff words is 0xffff after folding: checksum 0.
  EXPECT_EQ(internet_checksum(ff), 0);
}

TEST(WireChecksum, PseudoHeaderVerifiesCapturedUdp) {
  // kUdpFrame: 10.0.2.15 -> 10.0.2.2, UDP segment at offset 34, 18 bytes.
  auto seg = testdata::bytes(testdata::kUdpFrame).subspan(34);
  Checksum c = ipv4_pseudo_header(Ipv4Addr::from_octets(10, 0, 2, 15),
                                  Ipv4Addr::from_octets(10, 0, 2, 2), IpProto::Udp,
                                  static_cast<uint16_t>(seg.size()));
  c.add(seg);
  EXPECT_EQ(c.finish(), 0);
  Checksum s;
  s.add32(ipv4_pseudo_header_sum(Ipv4Addr::from_octets(10, 0, 2, 15),
                                 Ipv4Addr::from_octets(10, 0, 2, 2), IpProto::Udp,
                                 static_cast<uint16_t>(seg.size())));
  s.add(seg);
  EXPECT_EQ(s.finish(), 0);
}

TEST(WireBytes, LoadStoreBigEndian) {
  std::vector<std::byte> b(8);
  store_be16(b, 1, 0x1234);
  store_be32(b, 3, 0xa1b2c3d4);
  store_u8(b, 7, 0x99);
  EXPECT_EQ(b, v({0x00, 0x12, 0x34, 0xa1, 0xb2, 0xc3, 0xd4, 0x99}));
  EXPECT_EQ(load_be16(b, 1), 0x1234);
  EXPECT_EQ(load_be32(b, 3), 0xa1b2c3d4u);
  EXPECT_EQ(load_u8(b, 7), 0x99);
}

}  // namespace
}  // namespace netd::wire
