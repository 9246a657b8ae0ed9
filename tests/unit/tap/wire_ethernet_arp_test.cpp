// Ethernet and ARP views against captured frames, and the ARP emitter.
#include <gtest/gtest.h>

#include "tap/wire/arp.h"
#include "tap/wire/builder.h"
#include "tap/wire/ethernet.h"
#include "wire_frames.h"

namespace netd::wire {
namespace {

using testdata::bytes;
using testdata::vec;

const MacAddr kGuestMac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
const MacAddr kPeerMac{{0x52, 0x55, 0x0a, 0x00, 0x02, 0x02}};
const Ipv4Addr kGuestIp = Ipv4Addr::from_octets(10, 0, 2, 15);
const Ipv4Addr kPeerIp = Ipv4Addr::from_octets(10, 0, 2, 2);

TEST(WireEthernet, DecodesCapturedFrame) {
  auto f = bytes(testdata::kArpRequestFrame);
  auto eth = EthernetView::parse(f);
  ASSERT_TRUE(eth);
  EXPECT_EQ(eth->dst(), MacAddr::broadcast());
  EXPECT_EQ(eth->src(), kGuestMac);
  EXPECT_EQ(eth->ethertype(), 0x0806);
  EXPECT_TRUE(eth->ethertype() == EtherType::Arp);
  EXPECT_EQ(eth->payload().size(), f.size() - kEthernetHeaderLen);
  EXPECT_EQ(eth->payload().data(), f.data() + kEthernetHeaderLen);
  EXPECT_EQ(eth->frame().size(), f.size());
}

TEST(WireEthernet, HeaderOnlyFrameHasEmptyPayload) {
  auto f = bytes(testdata::kArpRequestFrame).first(kEthernetHeaderLen);
  auto eth = EthernetView::parse(f);
  ASSERT_TRUE(eth);
  EXPECT_TRUE(eth->payload().empty());
}

TEST(WireEthernet, EveryTruncationRejected) {
  auto f = bytes(testdata::kArpRequestFrame);
  for (size_t n = 0; n < kEthernetHeaderLen; ++n) {
    auto r = EthernetView::parse(f.first(n));
    ASSERT_FALSE(r) << n;
    EXPECT_EQ(r.error(), WireError::Truncated);
  }
}

TEST(WireEthernet, VlanTaggedFramesUnsupported) {
  for (uint16_t tpid : {0x8100, 0x88a8, 0x9100}) {
    auto f = vec(bytes(testdata::kUdpFrame));
    f[12] = std::byte(tpid >> 8);
    f[13] = std::byte(tpid & 0xff);
    auto r = EthernetView::parse(f);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), WireError::Unsupported);
  }
}

TEST(WireArp, DecodesCapturedRequest) {
  auto eth = EthernetView::parse(bytes(testdata::kArpRequestFrame));
  ASSERT_TRUE(eth);
  auto arp = ArpView::parse(eth->payload());
  ASSERT_TRUE(arp);
  EXPECT_EQ(arp->op(), kArpRequest);
  EXPECT_EQ(arp->sender_mac(), kGuestMac);
  EXPECT_EQ(arp->sender_ip(), kGuestIp);
  EXPECT_EQ(arp->target_mac(), MacAddr{});
  EXPECT_EQ(arp->target_ip(), kPeerIp);
}

TEST(WireArp, DecodesCapturedReply) {
  auto eth = EthernetView::parse(bytes(testdata::kArpReplyFrame));
  ASSERT_TRUE(eth);
  EXPECT_EQ(eth->dst(), kGuestMac);
  EXPECT_EQ(eth->src(), kPeerMac);
  auto arp = ArpView::parse(eth->payload());
  ASSERT_TRUE(arp);
  EXPECT_EQ(arp->op(), kArpReply);
  EXPECT_EQ(arp->sender_mac(), kPeerMac);
  EXPECT_EQ(arp->sender_ip(), kPeerIp);
  EXPECT_EQ(arp->target_mac(), kGuestMac);
  EXPECT_EQ(arp->target_ip(), kGuestIp);
}

TEST(WireArp, BuilderReproducesCapturesByteForByte) {
  auto req = build_arp({.src = kGuestMac, .dst = MacAddr::broadcast()}, kArpRequest, kGuestMac,
                       kGuestIp, MacAddr{}, kPeerIp);
  EXPECT_EQ(req, vec(bytes(testdata::kArpRequestFrame)));
  auto rep = build_arp({.src = kPeerMac, .dst = kGuestMac}, kArpReply, kPeerMac, kPeerIp,
                       kGuestMac, kGuestIp);
  EXPECT_EQ(rep, vec(bytes(testdata::kArpReplyFrame)));
}

TEST(WireArp, EveryTruncationRejected) {
  auto p = bytes(testdata::kArpRequestFrame).subspan(kEthernetHeaderLen);
  for (size_t n = 0; n < p.size(); ++n) {
    auto r = ArpView::parse(p.first(n));
    ASSERT_FALSE(r) << n;
    EXPECT_EQ(r.error(), WireError::Truncated);
  }
}

TEST(WireArp, PaddingIgnored) {
  // Ethernet pads ARP to 60 bytes on real wires; the view reads the first 28.
  auto f = vec(bytes(testdata::kArpRequestFrame));
  f.resize(60, std::byte{0xee});
  auto arp = ArpView::parse(std::span<const std::byte>(f).subspan(kEthernetHeaderLen));
  ASSERT_TRUE(arp);
  EXPECT_EQ(arp->target_ip(), kPeerIp);
}

TEST(WireArp, OtherHardwareOrProtocolOrOpUnsupported) {
  struct Case {
    size_t off;
    uint8_t value;
  };
  // htype 6 (IEEE 802), ptype 0x86dd, hlen 8, plen 16, op 3 (RARP), op 0.
  for (Case c : {Case{15, 6}, Case{16, 0x86}, Case{18, 8}, Case{19, 16}, Case{21, 3},
                 Case{21, 0}}) {
    auto f = vec(bytes(testdata::kArpRequestFrame));
    f[c.off] = std::byte{c.value};
    auto r = ArpView::parse(std::span<const std::byte>(f).subspan(kEthernetHeaderLen));
    ASSERT_FALSE(r) << c.off;
    EXPECT_EQ(r.error(), WireError::Unsupported);
  }
}

}  // namespace
}  // namespace netd::wire
