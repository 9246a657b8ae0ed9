// UDP view against a captured datagram; the UDP emitter.
#include <gtest/gtest.h>

#include <vector>

#include "tap/wire/builder.h"
#include "tap/wire/bytes.h"
#include "tap/wire/ethernet.h"
#include "tap/wire/ipv4.h"
#include "tap/wire/udp.h"
#include "wire_frames.h"

namespace netd::wire {
namespace {

using testdata::bytes;
using testdata::kL4Offset;
using testdata::str_bytes;
using testdata::vec;

const MacAddr kGuestMac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
const MacAddr kPeerMac{{0x52, 0x55, 0x0a, 0x00, 0x02, 0x02}};
const Ipv4Addr kGuestIp = Ipv4Addr::from_octets(10, 0, 2, 15);
const Ipv4Addr kPeerIp = Ipv4Addr::from_octets(10, 0, 2, 2);

Checksum pseudo(size_t len, Ipv4Addr src = kGuestIp, Ipv4Addr dst = kPeerIp) {
  return ipv4_pseudo_header(src, dst, IpProto::Udp, static_cast<uint16_t>(len));
}

std::span<const std::byte> captured_segment() {
  return bytes(testdata::kUdpFrame).subspan(kL4Offset);
}

TEST(WireUdp, DecodesCapturedDatagram) {
  auto eth = EthernetView::parse(bytes(testdata::kUdpFrame));
  ASSERT_TRUE(eth);
  auto ip = Ipv4View::parse(eth->payload());
  ASSERT_TRUE(ip);
  ASSERT_EQ(ip->protocol(), IpProto::Udp);
  auto udp = UdpView::parse(
      ip->payload(), ipv4_pseudo_header(ip->src(), ip->dst(), IpProto::Udp,
                                        static_cast<uint16_t>(ip->payload().size())));
  ASSERT_TRUE(udp);
  EXPECT_EQ(udp->src_port(), 40000);
  EXPECT_EQ(udp->dst_port(), 53);
  EXPECT_EQ(udp->length(), 18);
  EXPECT_EQ(udp->checksum(), 0x2488);
  EXPECT_EQ(vec(udp->payload()), vec(str_bytes("hello netd")));
  EXPECT_EQ(udp->datagram().size(), 18u);
}

TEST(WireUdp, BuilderReproducesCaptureByteForByte) {
  IpHeader h{.src = kGuestIp, .dst = kPeerIp, .proto = IpProto::Udp, .ttl = 64, .id = 0x6e40};
  auto f = build_ip_udp({.src = kGuestMac, .dst = kPeerMac}, h, 40000, 53,
                          str_bytes("hello netd"));
  EXPECT_EQ(f, vec(bytes(testdata::kUdpFrame)));
}

TEST(WireUdp, EveryTruncationRejected) {
  auto s = captured_segment();
  for (size_t n = 0; n < s.size(); ++n) {
    auto r = UdpView::parse(s.first(n), pseudo(n));
    ASSERT_FALSE(r) << n;
    EXPECT_EQ(r.error(), n < 8 ? WireError::Truncated : WireError::BadLength) << n;
  }
}

TEST(WireUdp, LengthFieldBelowHeaderOrBeyondSegment) {
  for (uint16_t len : {0, 7, 19, 0xffff}) {
    auto s = vec(captured_segment());
    store_be16(s, 4, len);
    auto r = UdpView::parse(s, pseudo(s.size()));
    ASSERT_FALSE(r) << len;
    EXPECT_EQ(r.error(), WireError::BadLength) << len;
  }
}

TEST(WireUdp, PayloadBoundedByLengthField) {
  // Trailing bytes after the datagram (IP payload longer than UDP length).
  auto s = vec(captured_segment());
  s.push_back(std::byte{0x55});
  s.push_back(std::byte{0x66});
  auto udp = UdpView::parse(s, pseudo(18));
  ASSERT_TRUE(udp);
  EXPECT_EQ(udp->payload().size(), 10u);
}

TEST(WireUdp, BadChecksum) {
  auto s = vec(captured_segment());
  s[9] ^= std::byte{0x20};
  auto r = UdpView::parse(s, pseudo(s.size()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), WireError::BadChecksum);
  // The right bytes but the wrong pseudo-header (another destination).
  auto r2 = UdpView::parse(captured_segment(),
                           pseudo(18, kGuestIp, Ipv4Addr::from_octets(10, 0, 2, 3)));
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error(), WireError::BadChecksum);
}

TEST(WireUdp, ZeroChecksumMeansNone) {
  auto s = vec(captured_segment());
  s[6] = s[7] = std::byte{0};
  s[9] ^= std::byte{0x20};  // not verified
  auto udp = UdpView::parse(s, pseudo(s.size()));
  ASSERT_TRUE(udp);
  EXPECT_EQ(udp->checksum(), 0);
}

TEST(WireUdp, ComputedZeroIsSentAsAllOnes) {
  IpHeader h{.src = kGuestIp, .dst = kPeerIp};
  L2Addrs l2{.src = kGuestMac, .dst = kPeerMac};
  std::byte data[2] = {};
  auto first = build_ip_udp(l2, h, 1000, 2000, data);
  // Choose the payload word equal to the first checksum: the sum then becomes
  // 0xffff and the checksum 0.
  uint16_t c = load_be16(first, kL4Offset + 6);
  store_be16(data, 0, c);
  auto f = build_ip_udp(l2, h, 1000, 2000, data);
  EXPECT_EQ(load_be16(f, kL4Offset + 6), 0xffff);
  auto udp = UdpView::parse(std::span<const std::byte>(f).subspan(kL4Offset), pseudo(10));
  ASSERT_TRUE(udp);
}

TEST(WireUdp, BuiltDatagramParsesBack) {
  std::vector<std::byte> payload(1000);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = std::byte(i * 7);
  IpHeader h{.src = kPeerIp, .dst = kGuestIp, .ttl = 255, .id = 77, .dont_fragment = false,
               .tos = 0x10};
  auto f = build_ip_udp({.src = kPeerMac, .dst = kGuestMac}, h, 53, 33333, payload);
  ASSERT_EQ(f.size(), frame_overhead_udp(h) + payload.size());
  auto eth = EthernetView::parse(f);
  ASSERT_TRUE(eth);
  EXPECT_EQ(eth->src(), kPeerMac);
  EXPECT_EQ(eth->dst(), kGuestMac);
  auto ip = Ipv4View::parse(eth->payload());
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->ttl(), 255);
  EXPECT_EQ(ip->id(), 77);
  EXPECT_EQ(ip->tos(), 0x10);
  EXPECT_FALSE(ip->dont_fragment());
  EXPECT_EQ(ip->protocol(), IpProto::Udp);
  auto udp = UdpView::parse(ip->payload(), pseudo(ip->payload().size(), kPeerIp, kGuestIp));
  ASSERT_TRUE(udp);
  EXPECT_EQ(udp->src_port(), 53);
  EXPECT_EQ(udp->dst_port(), 33333);
  EXPECT_EQ(vec(udp->payload()), payload);
}

TEST(WireUdp, WriterChecksRoomAndSize) {
  IpHeader h{.src = kGuestIp, .dst = kPeerIp};
  std::vector<std::byte> out(frame_overhead_udp(h) + 9);
  EXPECT_EQ(write_ip_udp(out, {}, h, 1, 2, str_bytes("hello netd")), 0u);
  EXPECT_EQ(write_ip_udp(out, {}, h, 1, 2, str_bytes("hello net")), out.size());
  std::vector<std::byte> huge(65535 - 20 - 8 + 1);
  EXPECT_TRUE(build_ip_udp({}, h, 1, 2, huge).empty());
  huge.pop_back();
  EXPECT_EQ(build_ip_udp({}, h, 1, 2, huge).size(), 14u + 65535u);
}

}  // namespace
}  // namespace netd::wire
