// IPv4 and ICMP views against captured frames; ICMP emitter and error quote.
#include <gtest/gtest.h>

#include <vector>

#include "tap/wire/builder.h"
#include "tap/wire/bytes.h"
#include "tap/wire/ethernet.h"
#include "tap/wire/icmp.h"
#include "tap/wire/ipv4.h"
#include "tap/wire/ip.h"
#include "wire_frames.h"

namespace netd::wire {
namespace {

using testdata::bytes;
using testdata::kIpOffset;
using testdata::kL4Offset;
using testdata::vec;

const MacAddr kGuestMac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
const MacAddr kPeerMac{{0x52, 0x55, 0x0a, 0x00, 0x02, 0x02}};
const Ipv4Addr kGuestIp = Ipv4Addr::from_octets(10, 0, 2, 15);
const Ipv4Addr kPeerIp = Ipv4Addr::from_octets(10, 0, 2, 2);

std::span<const std::byte> ip_of(std::span<const std::byte> frame) {
  return frame.subspan(kIpOffset);
}

// Recomputes the IPv4 header checksum of a (modified) packet starting at 0.
void fix_ip_checksum(std::vector<std::byte>& p) {
  std::span<std::byte> s(p);
  size_t hl = (static_cast<size_t>(p[0]) & 0x0f) * 4;
  store_be16(s, 10, 0);
  store_be16(s, 10, internet_checksum(s.first(hl)));
}

TEST(WireIpv4, DecodesCapturedEchoRequest) {
  auto frame = bytes(testdata::kIcmpEchoRequestFrame);
  auto eth = EthernetView::parse(frame);
  ASSERT_TRUE(eth);
  ASSERT_TRUE(eth->ethertype() == EtherType::Ipv4);
  auto ip = Ipv4View::parse(eth->payload());
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->header_length(), 20u);
  EXPECT_EQ(ip->total_length(), 84);
  EXPECT_EQ(ip->tos(), 0);
  EXPECT_EQ(ip->id(), 0x88e8);
  EXPECT_TRUE(ip->dont_fragment());
  EXPECT_FALSE(ip->more_fragments());
  EXPECT_EQ(ip->fragment_offset(), 0u);
  EXPECT_FALSE(ip->is_fragment());
  EXPECT_EQ(ip->ttl(), 64);
  EXPECT_EQ(ip->protocol(), IpProto::Icmp);
  EXPECT_EQ(ip->header_checksum(), 0x99b0);
  EXPECT_EQ(ip->src(), kGuestIp);
  EXPECT_EQ(ip->dst(), kPeerIp);
  EXPECT_EQ(ip->header().size(), 20u);
  EXPECT_EQ(ip->packet().size(), 84u);
  EXPECT_EQ(ip->payload().size(), 64u);
  EXPECT_EQ(ip->payload().data(), frame.data() + kL4Offset);
}

TEST(WireIpv4, DecodesCapturedIcmpErrorWithTos) {
  auto ip = Ipv4View::parse(ip_of(bytes(testdata::kIcmpPortUnreachFrame)));
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->tos(), 0xc0);
  EXPECT_EQ(ip->id(), 0x497e);
  EXPECT_FALSE(ip->dont_fragment());
  EXPECT_EQ(ip->src(), kPeerIp);
  EXPECT_EQ(ip->dst(), kGuestIp);
}

TEST(WireIpv4, EveryTruncationRejected) {
  auto p = ip_of(bytes(testdata::kIcmpEchoRequestFrame));
  for (size_t n = 0; n < p.size(); ++n) {
    auto r = Ipv4View::parse(p.first(n));
    ASSERT_FALSE(r) << n;
    EXPECT_EQ(r.error(), n < 20 ? WireError::Truncated : WireError::BadTotalLength) << n;
  }
}

TEST(WireIpv4, EthernetPaddingExcludedFromPayload) {
  // The UDP frame is 52 bytes; on a wire it is padded to 60. Padding must not
  // reach the UDP parser.
  auto f = vec(bytes(testdata::kUdpFrame));
  f.resize(60, std::byte{0xaa});
  auto ip = Ipv4View::parse(std::span<const std::byte>(f).subspan(kIpOffset));
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->total_length(), 38);
  EXPECT_EQ(ip->packet().size(), 38u);
  EXPECT_EQ(ip->payload().size(), 18u);
}

TEST(WireIpv4, BadChecksum) {
  auto p = vec(ip_of(bytes(testdata::kIcmpEchoRequestFrame)));
  p[8] = std::byte{63};  // ttl changed without updating the checksum
  auto r = Ipv4View::parse(p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), WireError::BadChecksum);
  auto q = vec(ip_of(bytes(testdata::kIcmpEchoRequestFrame)));
  q[11] ^= std::byte{0x01};
  EXPECT_EQ(Ipv4View::parse(q).error(), WireError::BadChecksum);
}

TEST(WireIpv4, BadVersion) {
  auto p = vec(ip_of(bytes(testdata::kIcmpEchoRequestFrame)));
  p[0] = std::byte{0x65};
  EXPECT_EQ(Ipv4View::parse(p).error(), WireError::BadVersion);
}

TEST(WireIpv4, IhlBelowFive) {
  for (uint8_t ihl = 0; ihl < 5; ++ihl) {
    auto p = vec(ip_of(bytes(testdata::kIcmpEchoRequestFrame)));
    p[0] = std::byte(0x40 | ihl);
    EXPECT_EQ(Ipv4View::parse(p).error(), WireError::BadHeaderLength) << int{ihl};
  }
}

TEST(WireIpv4, HeaderBeyondBuffer) {
  // IHL 15 (60 bytes) in a 38-byte packet.
  auto p = vec(ip_of(bytes(testdata::kUdpFrame)));
  p[0] = std::byte{0x4f};
  EXPECT_EQ(Ipv4View::parse(p).error(), WireError::Truncated);
}

TEST(WireIpv4, TotalLengthBelowHeaderOrBeyondBuffer) {
  for (uint16_t total : {0, 19, 85, 0xffff}) {
    auto p = vec(ip_of(bytes(testdata::kIcmpEchoRequestFrame)));
    store_be16(p, 2, total);
    fix_ip_checksum(p);
    EXPECT_EQ(Ipv4View::parse(p).error(), WireError::BadTotalLength) << total;
  }
  // Exactly the header: valid, empty payload.
  auto p = vec(ip_of(bytes(testdata::kIcmpEchoRequestFrame)));
  store_be16(p, 2, 20);
  fix_ip_checksum(p);
  auto ip = Ipv4View::parse(p);
  ASSERT_TRUE(ip);
  EXPECT_TRUE(ip->payload().empty());
}

TEST(WireIpv4, Fragments) {
  auto p = vec(ip_of(bytes(testdata::kIcmpEchoRequestFrame)));
  store_be16(p, 6, 0x2000 | 185);  // MF, offset 185*8 = 1480
  fix_ip_checksum(p);
  auto ip = Ipv4View::parse(p);
  ASSERT_TRUE(ip);
  EXPECT_TRUE(ip->more_fragments());
  EXPECT_FALSE(ip->dont_fragment());
  EXPECT_EQ(ip->fragment_offset(), 1480u);
  EXPECT_TRUE(ip->is_fragment());

  store_be16(p, 6, 0x0001);  // last fragment: no MF, offset 8
  fix_ip_checksum(p);
  ip = Ipv4View::parse(p);
  ASSERT_TRUE(ip);
  EXPECT_FALSE(ip->more_fragments());
  EXPECT_TRUE(ip->is_fragment());
}

TEST(WireIpv4, OptionsBelongToTheHeader) {
  // Insert a 4-byte Router Alert option (94 04 00 00) into the UDP packet.
  auto orig = ip_of(bytes(testdata::kUdpFrame));
  std::vector<std::byte> p(orig.begin(), orig.begin() + 20);
  for (uint8_t b : {0x94, 0x04, 0x00, 0x00}) p.push_back(std::byte{b});
  p.insert(p.end(), orig.begin() + 20, orig.end());
  p[0] = std::byte{0x46};
  store_be16(p, 2, static_cast<uint16_t>(p.size()));
  fix_ip_checksum(p);
  auto ip = Ipv4View::parse(p);
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->header_length(), 24u);
  EXPECT_EQ(ip->header().size(), 24u);
  EXPECT_EQ(ip->payload().size(), 18u);
  EXPECT_EQ(vec(ip->payload()), vec(orig.subspan(20)));
  // The quote of an error keeps the options and 8 payload bytes.
  EXPECT_EQ(icmp_error_quote(*ip).size(), 32u);
}

TEST(WireIpv4Quote, HeaderPlusEightBytes) {
  auto ip = Ipv4View::parse(ip_of(bytes(testdata::kUdpFrame)));
  ASSERT_TRUE(ip);
  auto q = icmp_error_quote(*ip);
  EXPECT_EQ(q.size(), 28u);
  EXPECT_EQ(q.data(), ip->packet().data());
  // A packet shorter than header + 8 is quoted whole.
  auto p = vec(ip_of(bytes(testdata::kUdpFrame)));
  store_be16(p, 2, 24);
  fix_ip_checksum(p);
  auto shortp = Ipv4View::parse(p);
  ASSERT_TRUE(shortp);
  EXPECT_EQ(icmp_error_quote(*shortp).size(), 24u);
}

TEST(WireIcmp, DecodesCapturedEchoRequestAndReply) {
  auto ip = Ipv4View::parse(ip_of(bytes(testdata::kIcmpEchoRequestFrame)));
  ASSERT_TRUE(ip);
  auto icmp = IcmpView::parse(ip->payload());
  ASSERT_TRUE(icmp);
  EXPECT_EQ(icmp->type(), kIcmpEchoRequest);
  EXPECT_EQ(icmp->code(), 0);
  EXPECT_EQ(icmp->checksum(), 0x11eb);
  EXPECT_EQ(icmp->echo_id(), 0x1a98);
  EXPECT_EQ(icmp->echo_seq(), 0);
  EXPECT_EQ(icmp->rest_of_header(), 0x1a980000u);
  EXPECT_EQ(icmp->payload().size(), 56u);
  EXPECT_EQ(icmp->message().size(), 64u);

  auto rip = Ipv4View::parse(ip_of(bytes(testdata::kIcmpEchoReplyFrame)));
  ASSERT_TRUE(rip);
  auto reply = IcmpView::parse(rip->payload());
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->type(), kIcmpEchoReply);
  EXPECT_EQ(reply->echo_id(), 0x1a98);
  EXPECT_EQ(vec(reply->payload()), vec(icmp->payload()));
}

TEST(WireIcmp, DecodesCapturedPortUnreachable) {
  auto ip = Ipv4View::parse(ip_of(bytes(testdata::kIcmpPortUnreachFrame)));
  ASSERT_TRUE(ip);
  auto icmp = IcmpView::parse(ip->payload());
  ASSERT_TRUE(icmp);
  EXPECT_EQ(icmp->type(), kIcmpDestUnreachable);
  EXPECT_EQ(icmp->code(), kIcmpPortUnreachable);
  EXPECT_EQ(icmp->rest_of_header(), 0u);
  // The quote is the original UDP datagram, parseable as IPv4 again.
  auto quoted = Ipv4View::parse(icmp->payload());
  ASSERT_TRUE(quoted);
  EXPECT_EQ(quoted->protocol(), IpProto::Udp);
  EXPECT_EQ(quoted->src(), kGuestIp);
  EXPECT_EQ(vec(quoted->packet()), vec(ip_of(bytes(testdata::kUdpFrame))));
}

TEST(WireIcmp, EveryTruncationRejected) {
  // ICMP has no length field: the IP layer delimits the message and the
  // checksum is the only witness of a cut. Dropping trailing zero bytes cannot
  // change a one's complement sum (the echo request's data ends in zeros), so
  // this uses the port-unreachable message, whose last byte is 'd'.
  auto m = bytes(testdata::kIcmpPortUnreachFrame).subspan(kL4Offset);
  for (size_t n = 0; n < m.size(); ++n) {
    auto r = IcmpView::parse(m.first(n));
    ASSERT_FALSE(r) << n;
    EXPECT_EQ(r.error(), n < 8 ? WireError::Truncated : WireError::BadChecksum) << n;
  }
}

TEST(WireIcmp, EveryFrameTruncationRejectedByTheChain) {
  // A cut frame is caught by the IPv4 total length before ICMP sees it.
  auto f = bytes(testdata::kIcmpEchoRequestFrame);
  for (size_t n = 0; n < f.size(); ++n) {
    auto eth = EthernetView::parse(f.first(n));
    if (!eth) continue;
    auto ip = Ipv4View::parse(eth->payload());
    ASSERT_FALSE(ip) << n;
  }
}

TEST(WireIcmp, BadChecksum) {
  auto m = vec(bytes(testdata::kIcmpEchoRequestFrame).subspan(kL4Offset));
  m[20] ^= std::byte{0x40};
  EXPECT_EQ(IcmpView::parse(m).error(), WireError::BadChecksum);
}

TEST(WireIcmp, BuilderReproducesCapturedEchoReply) {
  auto req_ip = Ipv4View::parse(ip_of(bytes(testdata::kIcmpEchoRequestFrame)));
  ASSERT_TRUE(req_ip);
  auto req = IcmpView::parse(req_ip->payload());
  ASSERT_TRUE(req);
  IpHeader h{.src = kPeerIp, .dst = kGuestIp, .proto = IpProto::Icmp, .ttl = 64,
               .id = 0x4962, .dont_fragment = false};
  auto f = build_ip_icmp({.src = kPeerMac, .dst = kGuestMac}, h, kIcmpEchoReply, 0,
                           req->rest_of_header(), req->payload());
  EXPECT_EQ(f, vec(bytes(testdata::kIcmpEchoReplyFrame)));
}

TEST(WireIcmp, BuilderReproducesCapturedPortUnreachable) {
  // Linux quotes the whole (small) datagram; give the builder the same.
  IpHeader h{.src = kPeerIp, .dst = kGuestIp, .proto = IpProto::Icmp, .ttl = 64,
               .id = 0x497e, .dont_fragment = false, .tos = 0xc0};
  auto f = build_ip_icmp({.src = kPeerMac, .dst = kGuestMac}, h, kIcmpDestUnreachable,
                           kIcmpPortUnreachable, 0, ip_of(bytes(testdata::kUdpFrame)));
  EXPECT_EQ(f, vec(bytes(testdata::kIcmpPortUnreachFrame)));
}

TEST(WireIcmp, BuiltErrorWithQuoteParsesBack) {
  auto orig = Ipv4View::parse(ip_of(bytes(testdata::kUdpFrame)));
  ASSERT_TRUE(orig);
  IpHeader h{.src = kPeerIp, .dst = kGuestIp, .proto = IpProto::Icmp};
  auto f = build_ip_icmp({.src = kPeerMac, .dst = kGuestMac}, h, kIcmpDestUnreachable,
                           kIcmpFragNeeded, 1400, icmp_error_quote(*orig));
  auto eth = EthernetView::parse(f);
  ASSERT_TRUE(eth);
  auto ip = Ipv4View::parse(eth->payload());
  ASSERT_TRUE(ip);
  EXPECT_TRUE(ip->dont_fragment());
  EXPECT_EQ(ip->ttl(), 64);
  EXPECT_EQ(ip->protocol(), IpProto::Icmp);
  auto icmp = IcmpView::parse(ip->payload());
  ASSERT_TRUE(icmp);
  EXPECT_EQ(icmp->type(), kIcmpDestUnreachable);
  EXPECT_EQ(icmp->code(), kIcmpFragNeeded);
  EXPECT_EQ(icmp->next_hop_mtu(), 1400);
  EXPECT_EQ(icmp->payload().size(), 28u);
}

}  // namespace
}  // namespace netd::wire
