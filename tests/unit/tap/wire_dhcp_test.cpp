// DHCP view against a captured udhcpc/udhcpd exchange; DhcpReplyBuilder.
#include <gtest/gtest.h>

#include <vector>

#include "tap/wire/builder.h"
#include "tap/wire/bytes.h"
#include "tap/wire/dhcp.h"
#include "tap/wire/ethernet.h"
#include "tap/wire/ipv4.h"
#include "tap/wire/udp.h"
#include "wire_frames.h"

namespace netd::wire {
namespace {

using testdata::bytes;
using testdata::str_bytes;
using testdata::vec;

const MacAddr kGuestMac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
const MacAddr kPeerMac{{0x52, 0x55, 0x0a, 0x00, 0x02, 0x02}};
const Ipv4Addr kGuestIp = Ipv4Addr::from_octets(10, 0, 2, 15);
const Ipv4Addr kPeerIp = Ipv4Addr::from_octets(10, 0, 2, 2);
constexpr size_t kDhcpOffset = 42;  // Ethernet + IPv4 + UDP

std::span<const std::byte> dhcp_of(std::span<const std::byte> frame) {
  return frame.subspan(kDhcpOffset);
}

std::vector<std::byte> b(std::initializer_list<uint8_t> l) {
  std::vector<std::byte> out;
  for (uint8_t x : l) out.push_back(static_cast<std::byte>(x));
  return out;
}

// The captured DISCOVER's fixed part and cookie followed by `options`.
std::vector<std::byte> with_options(std::initializer_list<uint8_t> options) {
  auto m = vec(dhcp_of(bytes(testdata::kDhcpDiscoverFrame)).first(kDhcpOptionsOffset));
  for (uint8_t x : options) m.push_back(std::byte{x});
  return m;
}

TEST(WireDhcp, DecodesCapturedDiscoverThroughTheStack) {
  auto eth = EthernetView::parse(bytes(testdata::kDhcpDiscoverFrame));
  ASSERT_TRUE(eth);
  EXPECT_TRUE(eth->dst().is_broadcast());
  auto ip = Ipv4View::parse(eth->payload());
  ASSERT_TRUE(ip);
  EXPECT_TRUE(ip->src().is_unspecified());
  EXPECT_TRUE(ip->dst().is_broadcast());
  auto udp = UdpView::parse(ip->payload(),
                            ipv4_pseudo_header(ip->src(), ip->dst(), IpProto::Udp,
                                               static_cast<uint16_t>(ip->payload().size())));
  ASSERT_TRUE(udp);
  EXPECT_EQ(udp->src_port(), kDhcpClientPort);
  EXPECT_EQ(udp->dst_port(), kDhcpServerPort);
  auto d = DhcpView::parse(udp->payload());
  ASSERT_TRUE(d);
  EXPECT_EQ(d->op(), kBootRequest);
  EXPECT_EQ(d->hops(), 0);
  EXPECT_EQ(d->xid(), 0x1599e161u);
  EXPECT_EQ(d->secs(), 0);
  EXPECT_EQ(d->flags(), 0);
  EXPECT_FALSE(d->broadcast_flag());
  EXPECT_TRUE(d->ciaddr().is_unspecified());
  EXPECT_TRUE(d->yiaddr().is_unspecified());
  EXPECT_TRUE(d->siaddr().is_unspecified());
  EXPECT_TRUE(d->giaddr().is_unspecified());
  EXPECT_EQ(d->client_mac(), kGuestMac);
  EXPECT_EQ(d->chaddr().size(), 16u);
  EXPECT_EQ(d->message_type(), kDhcpDiscover);
  EXPECT_FALSE(d->requested_ip());
  EXPECT_FALSE(d->server_id());
  auto cid = d->client_id();
  ASSERT_TRUE(cid);
  EXPECT_EQ(vec(*cid), b({0x01, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56}));
  auto host = d->option(kDhcpOptHostname);
  ASSERT_TRUE(host);
  EXPECT_EQ(vec(*host), vec(str_bytes("guest")));
  auto prl = d->option(kDhcpOptParamRequestList);
  ASSERT_TRUE(prl);
  EXPECT_EQ(vec(*prl), b({1, 3, 6, 12, 15, 28, 42}));
  auto maxsz = d->option(kDhcpOptMaxMessageSize);
  ASSERT_TRUE(maxsz);
  EXPECT_EQ(load_be16(*maxsz, 0), 576);
  EXPECT_FALSE(d->option(kDhcpOptLeaseTime));
  EXPECT_FALSE(d->option(kDhcpOptPad));
  EXPECT_FALSE(d->option(kDhcpOptEnd));
}

TEST(WireDhcp, DecodesCapturedRequestAndOffer) {
  auto req = DhcpView::parse(dhcp_of(bytes(testdata::kDhcpRequestFrame)));
  ASSERT_TRUE(req);
  EXPECT_EQ(req->message_type(), kDhcpRequest);
  EXPECT_EQ(req->requested_ip(), kGuestIp);
  EXPECT_EQ(req->server_id(), kPeerIp);

  auto offer = DhcpView::parse(dhcp_of(bytes(testdata::kDhcpOfferFrame)));
  ASSERT_TRUE(offer);
  EXPECT_EQ(offer->op(), kBootReply);
  EXPECT_EQ(offer->xid(), 0x1599e161u);
  EXPECT_EQ(offer->yiaddr(), kGuestIp);
  EXPECT_EQ(offer->message_type(), kDhcpOffer);
  EXPECT_EQ(offer->server_id(), kPeerIp);
  auto lease = offer->option(kDhcpOptLeaseTime);
  ASSERT_TRUE(lease);
  EXPECT_EQ(load_be32(*lease, 0), 3600u);
  auto dns = offer->option(kDhcpOptDns);
  ASSERT_TRUE(dns);
  EXPECT_EQ(load_be32(*dns, 0), Ipv4Addr::from_octets(10, 0, 2, 3).v);
}

// The udhcpd answers, rebuilt with DhcpReplyBuilder + build_ip_udp.
std::vector<std::byte> rebuild_reply(uint8_t type) {
  auto disc = DhcpView::parse(dhcp_of(bytes(testdata::kDhcpDiscoverFrame)));
  EXPECT_TRUE(disc);
  DhcpReplyBuilder r(*disc, type, kGuestIp, kPeerIp);
  r.add_u32(kDhcpOptLeaseTime, 3600);
  r.add_addr(kDhcpOptSubnetMask, Ipv4Addr::from_octets(255, 255, 255, 0));
  r.add_addr(kDhcpOptRouter, kPeerIp);
  const Ipv4Addr dns[] = {Ipv4Addr::from_octets(10, 0, 2, 3)};
  r.add_addrs(kDhcpOptDns, dns);
  auto payload = r.finish();
  EXPECT_EQ(payload.size(), kDhcpMinReplyLen);
  IpHeader h{.src = kPeerIp, .dst = Ipv4Addr{0xffffffffu}, .proto = IpProto::Udp,
               .dont_fragment = false};
  return build_ip_udp({.src = kPeerMac, .dst = MacAddr::broadcast()}, h, kDhcpServerPort,
                        kDhcpClientPort, payload);
}

TEST(WireDhcpReplyBuilder, ReproducesCapturedOfferAndAckByteForByte) {
  EXPECT_EQ(rebuild_reply(kDhcpOffer), vec(bytes(testdata::kDhcpOfferFrame)));
  EXPECT_EQ(rebuild_reply(kDhcpAck), vec(bytes(testdata::kDhcpAckFrame)));
}

TEST(WireDhcpReplyBuilder, CopiesRequestFieldsAndParsesBack) {
  // A relayed, renewing REQUEST with the broadcast flag.
  auto req = vec(dhcp_of(bytes(testdata::kDhcpRequestFrame)));
  store_be16(req, 10, kDhcpBroadcastFlag);
  store_be32(req, 12, kGuestIp.v);                                // ciaddr
  store_be32(req, 24, Ipv4Addr::from_octets(192, 0, 2, 1).v);     // giaddr
  auto rv = DhcpView::parse(req);
  ASSERT_TRUE(rv);
  DhcpReplyBuilder r(*rv, kDhcpAck, kGuestIp, kPeerIp);
  std::vector<std::byte> long_value(300, std::byte{'x'});
  r.add_option(kDhcpOptDomainName, long_value);  // split into 255 + 45
  r.add_u16(kDhcpOptInterfaceMtu, 1500);
  r.add_u8(200, 7);
  auto out = r.finish();
  EXPECT_GT(out.size(), kDhcpMinReplyLen);  // no padding needed
  auto d = DhcpView::parse(out);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->op(), kBootReply);
  EXPECT_EQ(d->xid(), rv->xid());
  EXPECT_TRUE(d->broadcast_flag());
  EXPECT_EQ(d->ciaddr(), kGuestIp);
  EXPECT_EQ(d->yiaddr(), kGuestIp);
  EXPECT_EQ(d->giaddr(), Ipv4Addr::from_octets(192, 0, 2, 1));
  EXPECT_EQ(d->client_mac(), kGuestMac);
  EXPECT_EQ(vec(d->chaddr()), vec(rv->chaddr()));
  EXPECT_EQ(d->message_type(), kDhcpAck);
  EXPECT_EQ(d->server_id(), kPeerIp);
  auto dn = d->option(kDhcpOptDomainName);
  ASSERT_TRUE(dn);
  EXPECT_EQ(dn->size(), 255u);  // the first piece; receivers concatenate (RFC 3396)
  auto mtu = d->option(kDhcpOptInterfaceMtu);
  ASSERT_TRUE(mtu);
  EXPECT_EQ(load_be16(*mtu, 0), 1500);
  EXPECT_EQ(vec(*d->option(200)), b({7}));
  EXPECT_EQ(static_cast<uint8_t>(out.back()), kDhcpOptEnd);

  // An OFFER does not echo ciaddr (RFC 2131 table 3).
  auto offer = DhcpReplyBuilder(*rv, kDhcpOffer, kGuestIp, kPeerIp).finish();
  EXPECT_TRUE(DhcpView::parse(offer)->ciaddr().is_unspecified());
}

TEST(WireDhcp, EveryTruncationBelowTheCookieRejected) {
  auto m = dhcp_of(bytes(testdata::kDhcpDiscoverFrame));
  for (size_t n = 0; n < kDhcpOptionsOffset; ++n) {
    auto r = DhcpView::parse(m.first(n));
    ASSERT_FALSE(r) << n;
    EXPECT_EQ(r.error(), WireError::Truncated);
  }
}

TEST(WireDhcp, EveryFrameTruncationRejectedByTheChain) {
  // DHCP has no length field: a cut message is caught by IPv4/UDP.
  auto f = bytes(testdata::kDhcpDiscoverFrame);
  for (size_t n = 0; n < f.size(); ++n) {
    auto eth = EthernetView::parse(f.first(n));
    if (!eth) continue;
    EXPECT_FALSE(Ipv4View::parse(eth->payload())) << n;
  }
}

TEST(WireDhcp, TruncatedOptionsAreAbsentNeverOverread) {
  // Every cut of the option area: options wholly inside stay, others vanish.
  auto m = dhcp_of(bytes(testdata::kDhcpDiscoverFrame));
  // Option 53 ends at 243, 57 at 247, 55 at 256, 12 at 263, 60 at 277, 61 at 286.
  for (size_t n = kDhcpOptionsOffset; n <= m.size(); ++n) {
    auto d = DhcpView::parse(m.first(n));
    ASSERT_TRUE(d) << n;
    EXPECT_EQ(d->message_type().has_value(), n >= 243) << n;
    EXPECT_EQ(d->option(kDhcpOptParamRequestList).has_value(), n >= 256) << n;
    EXPECT_EQ(d->client_id().has_value(), n >= 286) << n;
  }
}

TEST(WireDhcp, OptionWalkerPadEndAndMalformed) {
  // PADs are skipped.
  auto m = with_options({0, 0, 53, 1, 3, 0, 255});
  EXPECT_EQ(DhcpView::parse(m)->message_type(), kDhcpRequest);
  // Nothing after END is seen.
  m = with_options({255, 53, 1, 3});
  EXPECT_FALSE(DhcpView::parse(m)->message_type());
  // An option whose length runs past the end stops the walk.
  m = with_options({53, 1, 1, 50, 4, 10, 0, 2});
  auto d = DhcpView::parse(m);
  EXPECT_EQ(d->message_type(), kDhcpDiscover);
  EXPECT_FALSE(d->requested_ip());
  // A code with no room for its length byte.
  m = with_options({53, 1, 1, 54});
  EXPECT_FALSE(DhcpView::parse(m)->server_id());
  // Wrong sizes for the typed accessors.
  m = with_options({53, 2, 1, 1, 50, 3, 10, 0, 2, 54, 5, 10, 0, 2, 2, 2, 61, 1, 1, 255});
  d = DhcpView::parse(m);
  EXPECT_FALSE(d->message_type());
  EXPECT_FALSE(d->requested_ip());
  EXPECT_FALSE(d->server_id());
  EXPECT_FALSE(d->client_id());
  EXPECT_TRUE(d->option(kDhcpOptClientId));  // raw lookup still finds it
  // No options at all.
  m = with_options({});
  EXPECT_FALSE(DhcpView::parse(m)->message_type());
}

TEST(WireDhcp, BadCookieAndNonEthernet) {
  auto m = vec(dhcp_of(bytes(testdata::kDhcpDiscoverFrame)));
  m[239] = std::byte{0x64};
  EXPECT_EQ(DhcpView::parse(m).error(), WireError::Malformed);
  m = vec(dhcp_of(bytes(testdata::kDhcpDiscoverFrame)));
  m[1] = std::byte{6};  // htype IEEE 802
  EXPECT_EQ(DhcpView::parse(m).error(), WireError::Unsupported);
  m = vec(dhcp_of(bytes(testdata::kDhcpDiscoverFrame)));
  m[2] = std::byte{16};  // hlen
  EXPECT_EQ(DhcpView::parse(m).error(), WireError::Unsupported);
}

}  // namespace
}  // namespace netd::wire
