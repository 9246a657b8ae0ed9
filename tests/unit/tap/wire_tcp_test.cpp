// TCP view and option walker against captured segments; the TCP emitter.
#include <gtest/gtest.h>

#include <vector>

#include "tap/wire/builder.h"
#include "tap/wire/bytes.h"
#include "tap/wire/ethernet.h"
#include "tap/wire/ipv4.h"
#include "tap/wire/tcp.h"
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
  return ipv4_pseudo_header(src, dst, IpProto::Tcp, static_cast<uint16_t>(len));
}

std::vector<std::byte> b(std::initializer_list<uint8_t> l) {
  std::vector<std::byte> out;
  for (uint8_t x : l) out.push_back(static_cast<std::byte>(x));
  return out;
}

// Parses Ethernet -> IPv4 -> TCP of a frame, verifying everything.
Expected<TcpView, WireError> tcp_of(std::span<const std::byte> frame) {
  auto eth = EthernetView::parse(frame);
  if (!eth) return unexpected(eth.error());
  auto ip = Ipv4View::parse(eth->payload());
  if (!ip) return unexpected(ip.error());
  if (ip->protocol() != IpProto::Tcp) return unexpected(WireError::Unsupported);
  return TcpView::parse(ip->payload(),
                        ipv4_pseudo_header(ip->src(), ip->dst(), IpProto::Tcp,
                                           static_cast<uint16_t>(ip->payload().size())));
}

TEST(WireTcp, DecodesCapturedSynWithAllOptions) {
  auto tcp = tcp_of(bytes(testdata::kTcpSynTsFrame));
  ASSERT_TRUE(tcp);
  EXPECT_EQ(tcp->src_port(), 39200);
  EXPECT_EQ(tcp->dst_port(), 80);
  EXPECT_EQ(tcp->seq(), SeqNum(0xea4010ac));
  EXPECT_EQ(tcp->ack(), SeqNum(0));
  EXPECT_EQ(tcp->header_length(), 40u);
  EXPECT_EQ(tcp->flags(), kTcpSyn);
  EXPECT_TRUE(tcp->syn());
  EXPECT_FALSE(tcp->ack_flag());
  EXPECT_FALSE(tcp->fin());
  EXPECT_FALSE(tcp->rst());
  EXPECT_FALSE(tcp->psh());
  EXPECT_FALSE(tcp->urg());
  EXPECT_EQ(tcp->window(), 0xfaf0);
  EXPECT_EQ(tcp->checksum(), 0x12be);
  EXPECT_EQ(tcp->urgent(), 0);
  EXPECT_TRUE(tcp->payload().empty());
  EXPECT_EQ(tcp->option_bytes().size(), 20u);
  TcpOptions o = tcp->options();
  EXPECT_EQ(o.mss, 1460);
  EXPECT_TRUE(o.sack_permitted);
  ASSERT_TRUE(o.timestamps);
  EXPECT_EQ(o.timestamps->first, 0x924afb95u);
  EXPECT_EQ(o.timestamps->second, 0u);
  EXPECT_EQ(o.window_scale, 10);
}

TEST(WireTcp, DecodesCapturedDataSegment) {
  auto tcp = tcp_of(bytes(testdata::kTcpDataFrame));
  ASSERT_TRUE(tcp);
  EXPECT_EQ(tcp->src_port(), 47734);
  EXPECT_EQ(tcp->dst_port(), 80);
  EXPECT_EQ(tcp->seq(), SeqNum(0x45d33c4a));
  EXPECT_EQ(tcp->ack(), SeqNum(0xa736797d));
  EXPECT_EQ(tcp->flags(), kTcpPsh | kTcpAck);
  EXPECT_TRUE(tcp->psh());
  EXPECT_TRUE(tcp->ack_flag());
  EXPECT_EQ(tcp->window(), 0x3f);
  EXPECT_EQ(tcp->header_length(), 20u);
  EXPECT_EQ(vec(tcp->payload()), vec(str_bytes("hello\n")));
  TcpOptions o = tcp->options();
  EXPECT_FALSE(o.mss);
  EXPECT_FALSE(o.window_scale);
  EXPECT_FALSE(o.sack_permitted);
  EXPECT_FALSE(o.timestamps);
}

TEST(WireTcp, BuilderReproducesCapturedSynSynAckAndData) {
  TcpSegmentSpec syn{.sport = 47734, .dport = 80, .seq = SeqNum(0x45d33c49), .ack = SeqNum(0),
                     .flags = kTcpSyn, .window = 0xfaf0, .mss = 1460, .wscale = 10,
                     .sack_permitted = true};
  EXPECT_EQ(build_ip_tcp({.src = kGuestMac, .dst = kPeerMac},
                           {.src = kGuestIp, .dst = kPeerIp, .proto = IpProto::Tcp, .id = 0xdcee},
                           syn, {}),
            vec(bytes(testdata::kTcpSynFrame)));

  TcpSegmentSpec synack{.sport = 80, .dport = 47734, .seq = SeqNum(0xa736797b),
                        .ack = SeqNum(0x45d33c4a), .flags = kTcpSyn | kTcpAck, .window = 0xfaf0,
                        .mss = 1460, .wscale = 10, .sack_permitted = true};
  EXPECT_EQ(build_ip_tcp({.src = kPeerMac, .dst = kGuestMac},
                           {.src = kPeerIp, .dst = kGuestIp, .proto = IpProto::Tcp, .id = 0},
                           synack, {}),
            vec(bytes(testdata::kTcpSynAckFrame)));

  TcpSegmentSpec data{.sport = 47734, .dport = 80, .seq = SeqNum(0x45d33c4a),
                      .ack = SeqNum(0xa736797d), .flags = kTcpPsh | kTcpAck, .window = 0x3f};
  EXPECT_EQ(build_ip_tcp({.src = kGuestMac, .dst = kPeerMac},
                           {.src = kGuestIp, .dst = kPeerIp, .proto = IpProto::Tcp, .id = 0xdcf0},
                           data, str_bytes("hello\n")),
            vec(bytes(testdata::kTcpDataFrame)));
}

TEST(WireTcp, EveryTruncationRejected) {
  auto s = bytes(testdata::kTcpSynTsFrame).subspan(kL4Offset);
  for (size_t n = 0; n < s.size(); ++n) {
    auto r = TcpView::parse(s.first(n), pseudo(n));
    ASSERT_FALSE(r) << n;
    EXPECT_EQ(r.error(), n < 20 ? WireError::Truncated : WireError::BadHeaderLength) << n;
  }
  auto d = bytes(testdata::kTcpDataFrame).subspan(kL4Offset);
  for (size_t n = 0; n < d.size(); ++n) {
    auto r = TcpView::parse(d.first(n), pseudo(n));
    ASSERT_FALSE(r) << n;
    EXPECT_EQ(r.error(), n < 20 ? WireError::Truncated : WireError::BadChecksum) << n;
  }
}

TEST(WireTcp, EveryFrameTruncationRejectedByTheChain) {
  auto f = bytes(testdata::kTcpSynTsFrame);
  for (size_t n = 0; n < f.size(); ++n) EXPECT_FALSE(tcp_of(f.first(n))) << n;
}

TEST(WireTcp, DataOffsetBelowFiveOrBeyondSegment) {
  for (uint8_t doff : {0, 4, 11, 15}) {  // the SYN segment is 40 bytes = 10 words
    auto s = vec(bytes(testdata::kTcpSynTsFrame).subspan(kL4Offset));
    s[12] = std::byte(doff << 4);
    auto r = TcpView::parse(s, pseudo(s.size()));
    ASSERT_FALSE(r) << int{doff};
    EXPECT_EQ(r.error(), WireError::BadHeaderLength) << int{doff};
  }
}

TEST(WireTcp, BadChecksum) {
  auto s = vec(bytes(testdata::kTcpDataFrame).subspan(kL4Offset));
  s[25] ^= std::byte{0x01};  // last payload byte
  auto r = TcpView::parse(s, pseudo(s.size()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), WireError::BadChecksum);
  // Right bytes, wrong pseudo-header (swapped addresses are the same sum, so change one).
  auto r2 = TcpView::parse(bytes(testdata::kTcpDataFrame).subspan(kL4Offset),
                           pseudo(26, kGuestIp, Ipv4Addr::from_octets(10, 0, 2, 3)));
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error(), WireError::BadChecksum);
}

TEST(WireTcpOptions, EolEndsNopSkipsUnknownSkipped) {
  // NOP, unknown kind 30 len 4, MSS, EOL, then an MSS that must not be read.
  auto a = b({1, 30, 4, 0xaa, 0xbb, 2, 4, 0x05, 0xb4, 0, 2, 4, 0x01, 0x00});
  TcpOptions o = parse_tcp_options(a);
  EXPECT_EQ(o.mss, 1460);
}

TEST(WireTcpOptions, LengthZeroOrOneStopsTheWalk) {
  for (uint8_t len : {0, 1}) {
    auto a = b({2, 4, 0x05, 0xb4, 30, len, 4, 2, 1, 3, 3, 7});
    TcpOptions o = parse_tcp_options(a);
    EXPECT_EQ(o.mss, 1460) << int{len};          // parsed before the bad option
    EXPECT_FALSE(o.sack_permitted) << int{len};  // after it: not reached
    EXPECT_FALSE(o.window_scale) << int{len};
  }
}

TEST(WireTcpOptions, OptionRunningPastTheEndStops) {
  // Window scale fine, then timestamps claiming 10 bytes with 6 left.
  auto a = b({1, 3, 3, 7, 8, 10, 1, 2, 3, 4});
  TcpOptions o = parse_tcp_options(a);
  EXPECT_EQ(o.window_scale, 7);
  EXPECT_FALSE(o.timestamps);
  // A kind byte as the very last byte (no room for its length).
  auto c = b({1, 1, 1, 2});
  EXPECT_FALSE(parse_tcp_options(c).mss);
  // Every prefix of a full option list parses without reading past it.
  auto full = b({2, 4, 5, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 3, 3, 10});
  for (size_t n = 0; n <= full.size(); ++n) {
    std::vector<std::byte> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    TcpOptions p = parse_tcp_options(cut);
    EXPECT_EQ(p.mss.has_value(), n >= 4) << n;
    EXPECT_EQ(p.sack_permitted, n >= 6) << n;
    EXPECT_EQ(p.timestamps.has_value(), n >= 16) << n;
    EXPECT_EQ(p.window_scale.has_value(), n >= 20) << n;
  }
}

TEST(WireTcpOptions, WrongSizeForKindIgnored) {
  // MSS with length 3, window scale with length 4, SACK-permitted with length 3.
  auto a = b({2, 3, 5, 3, 4, 1, 2, 4, 3, 0, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2});
  TcpOptions o = parse_tcp_options(a);
  EXPECT_FALSE(o.mss);
  EXPECT_FALSE(o.window_scale);
  EXPECT_FALSE(o.sack_permitted);
  ASSERT_TRUE(o.timestamps);
  EXPECT_EQ(o.timestamps->first, 1u);
  EXPECT_EQ(o.timestamps->second, 2u);
}

TEST(WireTcpBuilder, OptionsRoundTripAndOverhead) {
  const IpHeader kV4{.src = kPeerIp, .dst = kGuestIp};
  TcpSegmentSpec s{.sport = 1, .dport = 2, .seq = SeqNum(0xfffffff0), .ack = SeqNum(5),
                   .flags = kTcpSyn | kTcpAck, .window = 65535, .mss = 1400};
  EXPECT_EQ(frame_overhead_tcp(kV4, s), 14u + 20 + 24);
  s.sack_permitted = true;
  EXPECT_EQ(frame_overhead_tcp(kV4, s), 14u + 20 + 28);
  s.wscale = 14;
  EXPECT_EQ(frame_overhead_tcp(kV4, s), 14u + 20 + 32);
  auto f = build_ip_tcp({}, {.src = kPeerIp, .dst = kGuestIp}, s, str_bytes("xyz"));
  auto tcp = tcp_of(f);
  ASSERT_TRUE(tcp);
  EXPECT_EQ(tcp->seq(), SeqNum(0xfffffff0));
  EXPECT_EQ(tcp->ack(), SeqNum(5));
  EXPECT_EQ(tcp->flags(), kTcpSyn | kTcpAck);
  EXPECT_EQ(tcp->window(), 65535);
  TcpOptions o = tcp->options();
  EXPECT_EQ(o.mss, 1400);
  EXPECT_EQ(o.window_scale, 14);
  EXPECT_TRUE(o.sack_permitted);
  EXPECT_FALSE(o.timestamps);
  EXPECT_EQ(vec(tcp->payload()), vec(str_bytes("xyz")));
  // The IPv4 header says TCP even if the caller left proto at its default.
  auto ip = Ipv4View::parse(EthernetView::parse(f)->payload());
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->protocol(), IpProto::Tcp);
}

TEST(WireTcpBuilder, WriterInPlacePayloadAndShortBuffer) {
  TcpSegmentSpec s{.sport = 80, .dport = 47734, .seq = SeqNum(1), .ack = SeqNum(2),
                   .flags = kTcpAck, .window = 100};
  IpHeader h{.src = kPeerIp, .dst = kGuestIp};
  const size_t ovh = frame_overhead_tcp(h, s);
  EXPECT_EQ(ovh, 54u);
  std::vector<std::byte> buf(ovh + 5);
  // Too small by one byte.
  EXPECT_EQ(write_ip_tcp(std::span<std::byte>(buf).first(ovh + 4), {}, h, s,
                           str_bytes("12345")),
            0u);
  // Payload already in place (as if read from a socket into the frame buffer).
  auto hello = str_bytes("hello");
  std::copy(hello.begin(), hello.end(), buf.begin() + static_cast<std::ptrdiff_t>(ovh));
  size_t n = write_ip_tcp(buf, {}, h, s, std::span<const std::byte>(buf).subspan(ovh, 5));
  ASSERT_EQ(n, ovh + 5);
  auto tcp = tcp_of(buf);
  ASSERT_TRUE(tcp);
  EXPECT_EQ(vec(tcp->payload()), vec(hello));
  // The same frame as the copying builder.
  EXPECT_EQ(buf, build_ip_tcp({}, h, s, hello));
}

TEST(WireTcpBuilder, HeadersOnlyThenPayloadIsTheWholeFrame) {
  // The captured data segment, built as headers that the payload follows
  // from elsewhere (scatter-gather): byte for byte the same on the wire.
  TcpSegmentSpec data{.sport = 47734, .dport = 80, .seq = SeqNum(0x45d33c4a),
                      .ack = SeqNum(0xa736797d), .flags = kTcpPsh | kTcpAck, .window = 0x3f};
  const IpHeader h{.src = kGuestIp, .dst = kPeerIp, .proto = IpProto::Tcp, .id = 0xdcf0};
  auto payload = str_bytes("hello\n");
  auto headers = build_ip_tcp_headers({.src = kGuestMac, .dst = kPeerMac}, h, data, payload);
  EXPECT_EQ(headers.size(), frame_overhead_tcp(h, data));
  headers.insert(headers.end(), payload.begin(), payload.end());
  EXPECT_EQ(headers, vec(bytes(testdata::kTcpDataFrame)));

  // An odd-length payload after options, over IPv6, checksummed in full and
  // as a partial (pseudo-header only) sum: the same as the copying builder.
  const Ipv6Addr a6{{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}};
  const Ipv6Addr b6{{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x64}};
  for (bool partial : {false, true}) {
    for (const IpHeader& ip : {IpHeader{.src = kPeerIp, .dst = kGuestIp}, IpHeader{.src = a6, .dst = b6}}) {
      TcpSegmentSpec s{.sport = 80, .dport = 9, .seq = SeqNum(7), .ack = SeqNum(9), .flags = kTcpAck,
                       .window = 3, .wscale = 7, .checksum_partial = partial};
      auto odd = str_bytes("odd-sized payload");
      auto f = build_ip_tcp_headers({}, ip, s, odd);
      f.insert(f.end(), odd.begin(), odd.end());
      EXPECT_EQ(f, build_ip_tcp({}, ip, s, odd)) << "partial " << partial << " v6 " << ip.src.is_v6();
    }
  }
  // Too large for one IPv4 packet: nothing.
  std::vector<std::byte> big(65535 - 20 - 20 + 1);
  EXPECT_TRUE(build_ip_tcp_headers({}, {.src = kPeerIp, .dst = kGuestIp},
                                   TcpSegmentSpec{.flags = kTcpAck}, big).empty());
}

}  // namespace
}  // namespace netd::wire
