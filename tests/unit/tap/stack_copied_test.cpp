// The copied layout (netd pasta): the guest wears the host's address, its
// gateway is a real host, and two aliases lead to the host's loopback and the
// host's own address. Driven with built frames; no sockets, no clock.
#include <gtest/gtest.h>

#include "tap/address_map.h"
#include "tap/stack.h"
#include "tap/wire/arp.h"
#include "tap/wire/builder.h"
#include "tap/wire/ethernet.h"
#include "tap/wire/icmp.h"
#include "tap/wire/ipv4.h"
#include "tap/wire/ipv6.h"
#include "tap/wire/ndp.h"
#include "tap/wire/tcp.h"
#include "unit/tap/wire_frames.h"

namespace netd::tap {
namespace {

using wire::IpAddr;
using wire::Ipv4Cidr;
using wire::Ipv4Addr;
using wire::Ipv6Addr;
using wire::MacAddr;

const MacAddr kGuestMac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
// The host (and so the guest) is 192.0.2.50/24 behind 192.0.2.1; a LAN peer
// is 192.0.2.77; the aliases are pasta's defaults as Podman passes them.
const Ipv4Addr kGuest = Ipv4Addr::from_octets(192, 0, 2, 50);
const Ipv4Addr kGateway = Ipv4Addr::from_octets(192, 0, 2, 1);
const Ipv4Addr kLanPeer = Ipv4Addr::from_octets(192, 0, 2, 77);
const Ipv4Addr kWorld = Ipv4Addr::from_octets(198, 51, 100, 10);
const Ipv4Addr kDnsForward = Ipv4Addr::from_octets(169, 254, 1, 1);
const Ipv4Addr kGuestAlias = Ipv4Addr::from_octets(169, 254, 1, 2);
const Ipv4Addr kLoopback = Ipv4Addr::from_octets(127, 0, 0, 1);
const Ipv6Addr kGuest6 = *Ipv6Addr::parse("2001:db8::50");
const Ipv6Addr kGateway6 = *Ipv6Addr::parse("fe80::1");
const Ipv6Addr kLanPeer6 = *Ipv6Addr::parse("2001:db8::77");
const Ipv6Addr kGuestLl = *Ipv6Addr::parse("fe80::5054:ff:fe12:3456");

StackConfig copied_config(bool map_gw) {
  auto c = StackConfig::copied_from(Ipv4Cidr{kGuest, 24}, kGateway);
  EXPECT_TRUE(c.has_value());
  c->dns = kDnsForward;
  c->guest_alias = kGuestAlias;
  if (map_gw) {
    c->map_host_loopback = kGateway;
    c->map_host_loopback6 = kGateway6;
  }
  auto six = c->set_copied6(wire::Ipv6Cidr{kGuest6, 64}, kGateway6, kGateway6);
  EXPECT_TRUE(six.has_value());
  c->router_advertisements = false;
  return *c;
}

class CopiedTest : public ::testing::Test {
 protected:
  explicit CopiedTest(bool map_gw = false) : cfg_(copied_config(map_gw)), stack_(cfg_) {}
  // The guest has spoken (netd knows its MAC, so a connection to it starts
  // with the SYN, not with an ARP request).
  void guest_spoke() {
    arp_request(kGuest, kGateway);
    out_.clear();
  }
  wire::L2Addrs from_guest() const { return {kGuestMac, cfg_.gateway_mac}; }
  void feed(std::span<const std::byte> f) { stack_.on_frame(now_, f, out_); }
  void arp_request(Ipv4Addr sender, Ipv4Addr target) {
    feed(wire::build_arp({kGuestMac, MacAddr::broadcast()}, wire::kArpRequest, kGuestMac, sender, MacAddr{},
                         target));
  }
  void tcp_syn(IpAddr src, IpAddr dst, uint16_t dport) {
    wire::TcpSegmentSpec s{};
    s.sport = 40000;
    s.dport = dport;
    s.seq = wire::SeqNum(1000);
    s.flags = wire::kTcpSyn;
    s.window = 65535;
    wire::IpHeader h{.src = src, .dst = dst, .proto = wire::IpProto::Tcp};
    feed(wire::build_ip_tcp(from_guest(), h, s, {}));
  }
  // The neighbour solicitation the guest sends for `target` from `src`.
  void solicit(const Ipv6Addr& src, const Ipv6Addr& target) {
    wire::NdpOptions o;
    o.link_addr(wire::kNdpOptSourceLinkAddr, kGuestMac);
    std::vector<std::byte> body(16);
    wire::store_ipv6(body, 0, target);
    body.insert(body.end(), o.bytes().begin(), o.bytes().end());
    wire::IpHeader h{.src = src, .dst = target, .proto = wire::IpProto::Icmpv6, .ttl = 255};
    feed(wire::build_ip_icmp(from_guest(), h, wire::kNdpNeighborSolicitation, 0, 0, body));
  }

  StackConfig cfg_;
  Time now_{seconds(1000)};
  Stack stack_;
  Actions out_;
};

class CopiedMapGwTest : public CopiedTest {
 protected:
  CopiedMapGwTest() : CopiedTest(true) {}
};

wire::Ipv4View ip_of(const Frame& f) {
  auto eth = wire::EthernetView::parse(f);
  EXPECT_TRUE(eth.has_value());
  auto ip = wire::Ipv4View::parse(eth->payload());
  EXPECT_TRUE(ip.has_value());
  return *ip;
}

// ---- Configuration ------------------------------------------------------------

TEST(CopiedConfig, RefusesAGatewayThatIsTheGuestAndUnusableAddresses) {
  EXPECT_FALSE(StackConfig::copied_from(Ipv4Cidr{kGuest, 24}, kGuest));
  EXPECT_FALSE(StackConfig::copied_from(Ipv4Cidr{Ipv4Addr{}, 24}, kGateway));
  EXPECT_FALSE(StackConfig::copied_from(Ipv4Cidr{kLoopback, 8}, kGateway));
  EXPECT_FALSE(StackConfig::copied_from(Ipv4Cidr{kGuest, 0}, kGateway));
  auto c = StackConfig::copied_from(Ipv4Cidr{kGuest, 24}, kGateway);
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->ipv6);
  EXPECT_FALSE(c->set_copied6(wire::Ipv6Cidr{kGuestLl, 64}, kGateway6, kGateway6));
  EXPECT_FALSE(c->set_copied6(wire::Ipv6Cidr{kGuest6, 64}, kGateway6, kGuest6));  // router not link-local
  EXPECT_TRUE(c->set_copied6(wire::Ipv6Cidr{kGuest6, 64}, kGateway6, kGateway6));
  EXPECT_TRUE(c->ipv6);
}

// ---- Where guest traffic goes --------------------------------------------------

TEST(CopiedAddressMap, LanPeersTheWorldAndTheAliasesWithoutMapGw) {
  StackConfig c = copied_config(false);
  EXPECT_EQ(host_destination(c, IpAddr(kLanPeer)), IpAddr(kLanPeer));
  EXPECT_EQ(host_destination(c, IpAddr(kWorld)), IpAddr(kWorld));
  EXPECT_EQ(host_destination(c, IpAddr(kGateway)), IpAddr(kGateway));  // a real host under --no-map-gw
  EXPECT_EQ(host_destination(c, IpAddr(kGuestAlias)), IpAddr(kGuest));  // the host's own address
  EXPECT_FALSE(host_destination(c, IpAddr(kGuest)));
  EXPECT_FALSE(host_destination(c, IpAddr(Ipv4Addr::from_octets(192, 0, 2, 255))));
  EXPECT_FALSE(host_destination(c, IpAddr(kLoopback)));
  EXPECT_EQ(host_destination(c, IpAddr(kLanPeer6)), IpAddr(kLanPeer6));
  EXPECT_FALSE(host_destination(c, IpAddr(kGateway6)));  // link-local, not mapped
  EXPECT_FALSE(host_destination(c, IpAddr(kGuest6)));
}

TEST(CopiedAddressMap, MapGwSendsTheGatewayToTheHostLoopback) {
  StackConfig c = copied_config(true);
  EXPECT_EQ(host_destination(c, IpAddr(kGateway)), IpAddr(kLoopback));
  EXPECT_EQ(host_destination(c, IpAddr(kGateway6)), IpAddr(Ipv6Addr::loopback()));
  EXPECT_EQ(host_destination(c, IpAddr(kLanPeer)), IpAddr(kLanPeer));
}

TEST_F(CopiedTest, TcpToALanPeerConnectsOnTheHost) {
  tcp_syn(IpAddr(kGuest), IpAddr(kLanPeer), 80);
  ASSERT_EQ(out_.to_host.size(), 1u);
  EXPECT_EQ(std::get<TcpConnect>(out_.to_host[0]).dst, IpAddr(kLanPeer));
}

TEST_F(CopiedMapGwTest, TcpToTheGatewayConnectsToTheHostLoopback) {
  tcp_syn(IpAddr(kGuest), IpAddr(kGateway), 8080);
  ASSERT_EQ(out_.to_host.size(), 1u);
  EXPECT_EQ(std::get<TcpConnect>(out_.to_host[0]).dst, IpAddr(kLoopback));
}

TEST_F(CopiedTest, EchoToTheGatewayGoesToTheRealGatewayAndToTheDnsAddressIsAnsweredHere) {
  wire::IpHeader h{.src = kGuest, .dst = kGateway, .proto = wire::IpProto::Icmp};
  feed(wire::build_ip_icmp(from_guest(), h, wire::kIcmpEchoRequest, 0, (1u << 16) | 1,
                           wire::testdata::str_bytes("x")));
  ASSERT_EQ(out_.to_host.size(), 2u);  // open a ping socket, send
  EXPECT_EQ(std::get<OpenSocket>(out_.to_host[0]).dst, IpAddr(kGateway));
  EXPECT_TRUE(out_.to_tap.empty());
  out_.clear();
  h.dst = kDnsForward;
  feed(wire::build_ip_icmp(from_guest(), h, wire::kIcmpEchoRequest, 0, (1u << 16) | 2,
                           wire::testdata::str_bytes("x")));
  EXPECT_TRUE(out_.to_host.empty());
  ASSERT_EQ(out_.to_tap.size(), 1u);
  EXPECT_EQ(ip_of(out_.to_tap[0]).src(), kDnsForward);
}

// ---- ARP and NDP: everyone but the guest is behind netd ---------------------------

TEST_F(CopiedTest, ArpIsAnsweredForEveryAddressButTheGuestsOwn) {
  arp_request(kGuest, kLanPeer);
  arp_request(kGuest, kGateway);
  arp_request(kGuest, kDnsForward);
  ASSERT_EQ(out_.to_tap.size(), 3u);
  for (const auto& f : out_.to_tap) {
    auto eth = wire::EthernetView::parse(f);
    ASSERT_TRUE(eth);
    auto arp = wire::ArpView::parse(eth->payload());
    ASSERT_TRUE(arp);
    EXPECT_EQ(arp->sender_mac(), cfg_.gateway_mac);
  }
  out_.clear();
  arp_request(Ipv4Addr{}, kGuest);  // the guest's probe for its own address
  arp_request(kGuest, kGuest);      // its announcement
  arp_request(kGuest, Ipv4Addr::from_octets(192, 0, 2, 255));
  EXPECT_TRUE(out_.to_tap.empty());
}

TEST_F(CopiedTest, NeighbourSolicitationsAreAnsweredExceptTheGuestsOwnAndDad) {
  solicit(kGuestLl, kLanPeer6);
  solicit(kGuestLl, kGateway6);
  ASSERT_EQ(out_.to_tap.size(), 2u);
  out_.clear();
  solicit(kGuestLl, kGuest6);   // about itself
  solicit(Ipv6Addr{}, kGuestLl);  // DAD for its link-local address (source ::)
  EXPECT_TRUE(out_.to_tap.empty());
}

// ---- Published ports: who the guest sees ------------------------------------------

TEST_F(CopiedTest, PublishedClientsKeepTheirAddressesLanPeersIncluded) {
  guest_spoke();
  ASSERT_TRUE(stack_.on_tcp_inbound(now_, IpAddr(kLanPeer), 41000, 80, out_));
  ASSERT_TRUE(stack_.on_tcp_inbound(now_, IpAddr(kWorld), 41001, 80, out_));
  ASSERT_EQ(out_.to_tap.size(), 2u);
  EXPECT_EQ(ip_of(out_.to_tap[0]).src(), kLanPeer);
  EXPECT_EQ(ip_of(out_.to_tap[0]).dst(), kGuest);
  EXPECT_EQ(ip_of(out_.to_tap[1]).src(), kWorld);
}

TEST_F(CopiedTest, TheHostItselfAppearsAsTheGuestAliasNotAsTheRealGateway) {
  guest_spoke();
  ASSERT_TRUE(stack_.on_tcp_inbound(now_, IpAddr(kLoopback), 41000, 80, out_));
  ASSERT_TRUE(stack_.on_tcp_inbound(now_, IpAddr(kGuest), 41001, 80, out_));
  ASSERT_EQ(out_.to_tap.size(), 2u);
  EXPECT_EQ(ip_of(out_.to_tap[0]).src(), kGuestAlias);
  EXPECT_EQ(ip_of(out_.to_tap[1]).src(), kGuestAlias);
}

TEST(CopiedNoAliases, TheHostItselfAppearsAsTheGatewayLikePasta) {
  StackConfig c = copied_config(false);
  c.guest_alias = Ipv4Addr{};
  Stack stack(c);
  Actions out;
  stack.on_frame(Time{}, wire::build_arp({kGuestMac, MacAddr::broadcast()}, wire::kArpRequest, kGuestMac, kGuest,
                                         MacAddr{}, kGateway),
                 out);
  out.clear();
  ASSERT_TRUE(stack.on_tcp_inbound(Time{}, IpAddr(kLoopback), 41000, 80, out));
  ASSERT_EQ(out.to_tap.size(), 1u);
  EXPECT_EQ(ip_of(out.to_tap[0]).src(), kGateway);
}

TEST_F(CopiedMapGwTest, TheHostsLoopbackAppearsAsTheMappedAddress) {
  guest_spoke();
  ASSERT_TRUE(stack_.on_tcp_inbound(now_, IpAddr(kLoopback), 41000, 80, out_));
  ASSERT_EQ(out_.to_tap.size(), 1u);
  EXPECT_EQ(ip_of(out_.to_tap[0]).src(), kGateway);
}

TEST_F(CopiedTest, AnIpv6ClientReachesTheGuestsKnownIpv6Address) {
  ASSERT_TRUE(stack_.on_tcp_inbound(now_, IpAddr(kLanPeer6), 41000, 80, out_));
  ASSERT_EQ(out_.to_tap.size(), 1u);
  auto eth = wire::EthernetView::parse(out_.to_tap[0]);
  ASSERT_TRUE(eth);
  auto ip = wire::Ipv6View::parse(eth->payload());
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->src(), kLanPeer6);
  EXPECT_EQ(ip->dst(), kGuest6);
}

TEST(CopiedIpv4Off, Ipv4AndArpAreDroppedWhenOnlyIpv6Runs) {
  StackConfig c = copied_config(false);
  c.ipv4 = false;
  Stack stack(c);
  Actions out;
  stack.on_frame(Time{}, wire::build_arp({kGuestMac, MacAddr::broadcast()}, wire::kArpRequest, kGuestMac, kGuest,
                                         MacAddr{}, kLanPeer),
                 out);
  EXPECT_TRUE(out.to_tap.empty());
  EXPECT_EQ(stack.counters().drop_unsupported, 1u);
}

}  // namespace
}  // namespace netd::tap
