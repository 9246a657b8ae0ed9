// --map-guest-addr: the guest alias that leads to the host's own address, in
// the slirp layout (netd attach) and the copied one (netd pasta). Which
// aliases are refused; where traffic to the alias goes (TCP, UDP, ICMP echo,
// IPv4 and IPv6) and that every reply comes back from the alias; and what
// happens when the host's address moves while flows are open. Driven with
// built frames; no sockets, no clock.
#include <gtest/gtest.h>

#include <cerrno>

#include "tap/address_map.h"
#include "tap/stack.h"
#include "tap/wire/builder.h"
#include "tap/wire/ethernet.h"
#include "tap/wire/icmp.h"
#include "tap/wire/ip.h"
#include "tap/wire/ipv4.h"
#include "tap/wire/ipv6.h"
#include "tap/wire/tcp.h"
#include "tap/wire/udp.h"
#include "unit/tap/wire_frames.h"

namespace netd::tap {
namespace {

using wire::IpAddr;
using wire::Ipv4Addr;
using wire::Ipv4Cidr;
using wire::Ipv6Addr;
using wire::MacAddr;

const MacAddr kGuestMac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
// Slirp layout 10.0.2.0/24 and fd00::/64; the guest's SLAAC address.
const Ipv4Addr kGuest = Ipv4Addr::from_octets(10, 0, 2, 100);
const Ipv6Addr kGuest6 = *Ipv6Addr::parse("fd00::5054:ff:fe12:3456");
// The aliases (Podman's host.containers.internal, and one outside fd00::/64)
// and the host's own addresses, before and after it is renumbered.
const Ipv4Addr kAlias = Ipv4Addr::from_octets(169, 254, 1, 2);
const Ipv6Addr kAlias6 = *Ipv6Addr::parse("fd01::2");
const Ipv4Addr kHost = Ipv4Addr::from_octets(198, 51, 100, 1);
const Ipv4Addr kHostMoved = Ipv4Addr::from_octets(198, 51, 100, 5);
const Ipv6Addr kHost6 = *Ipv6Addr::parse("2001:db8::1");
const Ipv6Addr kHost6Moved = *Ipv6Addr::parse("2001:db8::5");

StackConfig slirp_with_aliases() {
  auto c = StackConfig::from_cidr("10.0.2.0/24");
  EXPECT_TRUE(c);
  EXPECT_TRUE(c->set_guest_alias(IpAddr(kAlias)));
  EXPECT_TRUE(c->set_guest_alias(IpAddr(kAlias6)));
  c->host_own->set(kHost);
  c->host_own->set(kHost6);
  return *c;
}

// ---- Which aliases are refused --------------------------------------------------

TEST(HostAliasConfig, SlirpRefusesAddressesInUseOrNotUnicastOrInTheGuestsSubnet) {
  auto c = *StackConfig::from_cidr("10.0.2.0/24");
  for (const char* bad : {"10.0.2.100", "10.0.2.2", "10.0.2.3", "10.0.2.50", "10.0.2.255", "0.0.0.0", "127.0.0.1",
                          "127.5.5.5", "224.0.0.1", "255.255.255.255", "fd00::2", "fd00::3", "fd00::1234", "fe80::2",
                          "fe80::7", "::", "::1", "ff02::1"}) {
    auto r = c.set_guest_alias(*IpAddr::parse(bad));
    EXPECT_FALSE(r) << bad;
  }
  EXPECT_TRUE(c.guest_alias.is_unspecified());
  EXPECT_TRUE(c.guest_alias6.is_unspecified());
  auto r = c.set_guest_alias(IpAddr(kGuest));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "10.0.2.100 is the guest's own address: pick another address");
  r = c.set_guest_alias(IpAddr(Ipv4Addr::from_octets(10, 0, 2, 2)));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "10.0.2.2 is the gateway's address: pick another address");
  r = c.set_guest_alias(*IpAddr::parse("fd00::3"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "fd00::3 is the DNS address: pick another address");
  EXPECT_TRUE(c.set_guest_alias(IpAddr(kAlias)));
  EXPECT_TRUE(c.set_guest_alias(IpAddr(kAlias6)));
  EXPECT_EQ(c.guest_alias, kAlias);
  EXPECT_EQ(c.guest_alias6, kAlias6);
}

TEST(HostAliasConfig, CopiedRefusesTheGuestGatewayDnsAndLoopbackAliasButNotTheSubnet) {
  auto c = *StackConfig::copied_from(Ipv4Cidr{Ipv4Addr::from_octets(192, 0, 2, 50), 24},
                                     Ipv4Addr::from_octets(192, 0, 2, 1));
  c.dns = Ipv4Addr::from_octets(169, 254, 1, 1);
  c.map_host_loopback = Ipv4Addr::from_octets(169, 254, 1, 3);
  ASSERT_TRUE(c.set_copied6(wire::Ipv6Cidr{*Ipv6Addr::parse("2001:db8::50"), 64}, *Ipv6Addr::parse("fe80::1"),
                            *Ipv6Addr::parse("fe80::1")));
  for (const char* bad : {"192.0.2.50", "192.0.2.1", "169.254.1.1", "169.254.1.3", "192.0.2.255", "2001:db8::50",
                          "fe80::1"}) {
    EXPECT_FALSE(c.set_guest_alias(*IpAddr::parse(bad))) << bad;
  }
  // A LAN address is the guest's business in this layout (every address is
  // answered for on the link).
  EXPECT_TRUE(c.set_guest_alias(IpAddr(Ipv4Addr::from_octets(192, 0, 2, 99))));
  EXPECT_TRUE(c.set_guest_alias(*IpAddr::parse("2001:db8::99")));
}

// ---- Where the alias leads ---------------------------------------------------------

TEST(HostAliasAddressMap, SlirpLeadsToTheHostsOwnAddressOnlyOnceItIsKnown) {
  auto c = *StackConfig::from_cidr("10.0.2.0/24");
  ASSERT_TRUE(c.set_guest_alias(IpAddr(kAlias)));
  ASSERT_TRUE(c.set_guest_alias(IpAddr(kAlias6)));
  EXPECT_FALSE(host_destination(c, IpAddr(kAlias)));
  EXPECT_FALSE(host_destination(c, IpAddr(kAlias6)));
  c.host_own->set(kHost);
  c.host_own->set(kHost6);
  EXPECT_EQ(host_destination(c, IpAddr(kAlias)), IpAddr(kHost));
  EXPECT_EQ(host_destination(c, IpAddr(kAlias6)), IpAddr(kHost6));
  // The host address itself stays reachable as it is, as any other host's.
  EXPECT_EQ(host_destination(c, IpAddr(kHost)), IpAddr(kHost));
  // Never the loopback this way, whatever the interface holds.
  c.host_own->set(Ipv4Addr::from_octets(127, 0, 0, 1));
  c.host_own->set(Ipv6Addr::loopback());
  EXPECT_FALSE(host_destination(c, IpAddr(kAlias)));
  EXPECT_FALSE(host_destination(c, IpAddr(kAlias6)));
}

TEST(HostAliasAddressMap, EveryCopyOfTheConfigurationSeesTheHostMove) {
  StackConfig original = slirp_with_aliases();
  StackConfig copy = original;  // as the data plane and the Stack hold it
  original.host_own->set(kHostMoved);
  original.host_own->set(kHost6Moved);
  EXPECT_EQ(host_destination(copy, IpAddr(kAlias)), IpAddr(kHostMoved));
  EXPECT_EQ(host_destination(copy, IpAddr(kAlias6)), IpAddr(kHost6Moved));
}

TEST(HostAliasAddressMap, CopiedLeadsToTheGuestsCopyUntilTheHostMoves) {
  const Ipv4Addr guest = Ipv4Addr::from_octets(192, 0, 2, 50);
  const Ipv6Addr guest6 = *Ipv6Addr::parse("2001:db8::50");
  auto c = *StackConfig::copied_from(Ipv4Cidr{guest, 24}, Ipv4Addr::from_octets(192, 0, 2, 1));
  ASSERT_TRUE(c.set_guest_alias(IpAddr(kAlias)));
  ASSERT_TRUE(c.set_guest_alias(IpAddr(kAlias6)));
  c.ipv6 = true;
  EXPECT_FALSE(host_destination(c, IpAddr(kAlias6)));  // no IPv6 address copied: nowhere
  ASSERT_TRUE(c.set_copied6(wire::Ipv6Cidr{guest6, 64}, *Ipv6Addr::parse("fe80::1"), *Ipv6Addr::parse("fe80::1")));
  EXPECT_EQ(host_destination(c, IpAddr(kAlias)), IpAddr(guest));
  EXPECT_EQ(host_destination(c, IpAddr(kAlias6)), IpAddr(guest6));
  c.host_own->set(kHostMoved);
  c.host_own->set(kHost6Moved);
  EXPECT_EQ(host_destination(c, IpAddr(kAlias)), IpAddr(kHostMoved));
  EXPECT_EQ(host_destination(c, IpAddr(kAlias6)), IpAddr(kHost6Moved));
  EXPECT_FALSE(host_destination(c, IpAddr(guest)));  // its own address stays its own
}

// ---- The Stack, both families --------------------------------------------------

class HostAliasTest : public ::testing::TestWithParam<bool> {
 protected:
  HostAliasTest() : cfg_(slirp_with_aliases()), stack_(cfg_) {}
  bool v6() const { return GetParam(); }
  IpAddr guest() const { return v6() ? IpAddr(kGuest6) : IpAddr(kGuest); }
  IpAddr alias() const { return v6() ? IpAddr(kAlias6) : IpAddr(kAlias); }
  IpAddr host() const { return v6() ? IpAddr(kHost6) : IpAddr(kHost); }
  IpAddr moved() const { return v6() ? IpAddr(kHost6Moved) : IpAddr(kHostMoved); }
  const wire::IcmpDialect& icmp() const { return wire::icmp_dialect(v6() ? wire::IpFamily::V6 : wire::IpFamily::V4); }
  // The host is renumbered (the runner writes its shared cell).
  void host_moves() {
    if (v6()) cfg_.host_own->set(kHost6Moved);
    else cfg_.host_own->set(kHostMoved);
  }
  wire::L2Addrs from_guest() const { return {kGuestMac, cfg_.gateway_mac}; }
  void feed(std::span<const std::byte> f) { stack_.on_frame(now_, f, out_); }

  void udp_to_alias(uint16_t sport, uint16_t dport, std::string_view text) {
    wire::IpHeader h{.src = guest(), .dst = alias(), .proto = wire::IpProto::Udp};
    feed(wire::build_ip_udp(from_guest(), h, sport, dport, wire::testdata::str_bytes(text)));
  }
  void echo_to_alias(uint16_t id, uint16_t seq) {
    wire::IpHeader h{.src = guest(), .dst = alias(), .proto = icmp().proto};
    feed(wire::build_ip_icmp(from_guest(), h, icmp().echo_request, 0, (uint32_t{id} << 16) | seq,
                             wire::testdata::str_bytes("ping")));
  }
  void syn_to_alias(uint16_t sport, uint16_t dport) {
    wire::TcpSegmentSpec s{};
    s.sport = sport;
    s.dport = dport;
    s.seq = wire::SeqNum(1000);
    s.flags = wire::kTcpSyn;
    s.window = 65535;
    wire::IpHeader h{.src = guest(), .dst = alias(), .proto = wire::IpProto::Tcp};
    feed(wire::build_ip_tcp(from_guest(), h, s, {}));
  }
  // The echo reply a ping socket hands back (its own identifier: 0x9999).
  static std::vector<std::byte> ping_socket_reply(uint8_t type, uint16_t seq) {
    std::vector<std::byte> m = {std::byte{type}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0x99},
                                std::byte{0x99}, std::byte(seq >> 8), std::byte(seq & 0xff)};
    auto p = wire::testdata::str_bytes("ping");
    m.insert(m.end(), p.begin(), p.end());
    return m;
  }
  // The one IP packet netd sent to the guest.
  wire::IpView sent_ip(size_t i = 0) {
    EXPECT_GT(out_.to_tap.size(), i);
    auto eth = wire::EthernetView::parse(out_.to_tap.at(i));
    EXPECT_TRUE(eth);
    if (v6()) {
      auto ip = wire::Ipv6View::parse(eth->payload());
      EXPECT_TRUE(ip);
      return *ip;
    }
    auto ip = wire::Ipv4View::parse(eth->payload());
    EXPECT_TRUE(ip);
    return *ip;
  }
  template <class Op>
  std::vector<Op> ops() const {
    std::vector<Op> r;
    for (const auto& op : out_.to_host)
      if (const auto* o = std::get_if<Op>(&op)) r.push_back(*o);
    return r;
  }

  StackConfig cfg_;
  Time now_{seconds(1000)};
  Stack stack_;
  Actions out_;
};

INSTANTIATE_TEST_SUITE_P(BothFamilies, HostAliasTest, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "Ipv6" : "Ipv4"; });

TEST_P(HostAliasTest, TcpConnectsToTheHostsOwnAddressAndAnswersFromTheAlias) {
  syn_to_alias(40000, 8090);
  auto connects = ops<TcpConnect>();
  ASSERT_EQ(connects.size(), 1u);
  EXPECT_EQ(connects[0].dst, host());
  EXPECT_EQ(connects[0].port, 8090);
  out_.clear();
  stack_.on_tcp_connected(now_, connects[0].flow, 0, out_);
  wire::IpView ip = sent_ip();
  EXPECT_EQ(ip.src(), alias());
  EXPECT_EQ(ip.dst(), guest());
  auto tcp = wire::TcpView::parse(ip.payload(), ip.pseudo_header(wire::IpProto::Tcp));
  ASSERT_TRUE(tcp);  // (the checksum covers the alias: the guest's kernel accepts it)
  EXPECT_TRUE(tcp->syn() && tcp->ack_flag());
  EXPECT_EQ(tcp->src_port(), 8090);
  EXPECT_EQ(tcp->dst_port(), 40000);
}

TEST_P(HostAliasTest, UdpGoesToTheHostsOwnAddressAndRepliesComeFromTheAlias) {
  udp_to_alias(40000, 8091, "WHO");
  auto opens = ops<OpenSocket>();
  ASSERT_EQ(opens.size(), 1u);
  EXPECT_EQ(opens[0].kind, SocketKind::Udp);
  EXPECT_EQ(opens[0].dst, host());
  EXPECT_EQ(opens[0].port, 8091);
  EXPECT_EQ(ops<SendOnSocket>().size(), 1u);
  out_.clear();
  stack_.on_socket_data(now_, SocketKind::Udp, opens[0].flow, wire::testdata::str_bytes("answer"), out_);
  wire::IpView ip = sent_ip();
  EXPECT_EQ(ip.src(), alias());
  EXPECT_EQ(ip.dst(), guest());
  auto udp = wire::UdpView::parse(ip.payload(), ip.pseudo_header(wire::IpProto::Udp), !v6());
  ASSERT_TRUE(udp);
  EXPECT_EQ(udp->src_port(), 8091);
  EXPECT_EQ(udp->dst_port(), 40000);
}

TEST_P(HostAliasTest, EchoGoesToTheHostsOwnAddressAndRepliesComeFromTheAlias) {
  echo_to_alias(0x1234, 1);
  auto opens = ops<OpenSocket>();
  ASSERT_EQ(opens.size(), 1u);
  EXPECT_EQ(opens[0].kind, SocketKind::Ping);
  EXPECT_EQ(opens[0].dst, host());
  EXPECT_EQ(stack_.counters().icmp_echo_local, 0u);  // not answered by netd itself
  out_.clear();
  stack_.on_socket_data(now_, SocketKind::Ping, opens[0].flow, ping_socket_reply(icmp().echo_reply, 1), out_);
  wire::IpView ip = sent_ip();
  EXPECT_EQ(ip.src(), alias());
  EXPECT_EQ(ip.dst(), guest());
  auto echo = v6() ? wire::IcmpView::parse(ip.payload(), ip.pseudo_header(wire::IpProto::Icmpv6))
                   : wire::IcmpView::parse(ip.payload());
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->type(), icmp().echo_reply);
  EXPECT_EQ(echo->echo_id(), 0x1234);  // the guest's identifier, not the socket's
  EXPECT_EQ(echo->echo_seq(), 1);
}

TEST_P(HostAliasTest, RefusalsOnTheHostComeBackFromTheAliasToo) {
  udp_to_alias(40000, 9, "x");
  FlowId udp_flow = ops<OpenSocket>().at(0).flow;
  out_.clear();
  stack_.on_socket_error(now_, SocketKind::Udp, udp_flow, ECONNREFUSED, out_);
  wire::IpView unreachable = sent_ip();
  EXPECT_EQ(unreachable.src(), alias());
  EXPECT_EQ(unreachable.protocol(), icmp().proto);
  out_.clear();
  syn_to_alias(40001, 9);
  FlowId tcp_flow = ops<TcpConnect>().at(0).flow;
  out_.clear();
  stack_.on_tcp_connected(now_, tcp_flow, -ECONNREFUSED, out_);
  wire::IpView rst = sent_ip();
  EXPECT_EQ(rst.src(), alias());
  auto tcp = wire::TcpView::parse(rst.payload(), rst.pseudo_header(wire::IpProto::Tcp));
  ASSERT_TRUE(tcp);
  EXPECT_TRUE(tcp->rst());
  EXPECT_EQ(tcp->src_port(), 9);
}

TEST_P(HostAliasTest, WhenTheHostMovesAnOpenUdpFlowStartsOverAtTheNewAddress) {
  udp_to_alias(40000, 8091, "one");
  FlowId old_flow = ops<OpenSocket>().at(0).flow;
  out_.clear();
  udp_to_alias(40000, 8091, "two");  // same flow, same socket
  EXPECT_TRUE(ops<OpenSocket>().empty());
  EXPECT_TRUE(ops<CloseSocket>().empty());
  out_.clear();
  host_moves();
  udp_to_alias(40000, 8091, "three");
  auto closes = ops<CloseSocket>();
  auto opens = ops<OpenSocket>();
  ASSERT_EQ(closes.size(), 1u);
  EXPECT_EQ(closes[0].flow, old_flow);
  ASSERT_EQ(opens.size(), 1u);
  EXPECT_NE(opens[0].flow, old_flow);
  EXPECT_EQ(opens[0].dst, moved());
  auto sends = ops<SendOnSocket>();
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(sends[0].flow, opens[0].flow);
  out_.clear();
  stack_.on_socket_data(now_, SocketKind::Udp, opens[0].flow, wire::testdata::str_bytes("answer"), out_);
  EXPECT_EQ(sent_ip().src(), alias());
  EXPECT_EQ(stack_.udp_flows(), 1u);
}

TEST_P(HostAliasTest, WhenTheHostMovesAnOpenPingFlowStartsOverAtTheNewAddress) {
  echo_to_alias(0x1234, 1);
  FlowId old_flow = ops<OpenSocket>().at(0).flow;
  out_.clear();
  host_moves();
  echo_to_alias(0x1234, 2);
  ASSERT_EQ(ops<CloseSocket>().size(), 1u);
  EXPECT_EQ(ops<CloseSocket>()[0].flow, old_flow);
  auto opens = ops<OpenSocket>();
  ASSERT_EQ(opens.size(), 1u);
  EXPECT_EQ(opens[0].kind, SocketKind::Ping);
  EXPECT_EQ(opens[0].dst, moved());
  out_.clear();
  stack_.on_socket_data(now_, SocketKind::Ping, opens[0].flow, ping_socket_reply(icmp().echo_reply, 2), out_);
  EXPECT_EQ(sent_ip().src(), alias());
  EXPECT_EQ(stack_.icmp_flows(), 1u);
}

TEST_P(HostAliasTest, WhenTheHostMovesNewConnectionsGoThereAndOpenOnesStay) {
  syn_to_alias(40000, 8090);
  FlowId first = ops<TcpConnect>().at(0).flow;
  stack_.on_tcp_connected(now_, first, 0, out_);
  out_.clear();
  host_moves();
  syn_to_alias(40001, 8090);
  auto connects = ops<TcpConnect>();
  ASSERT_EQ(connects.size(), 1u);
  EXPECT_EQ(connects[0].dst, moved());
  EXPECT_TRUE(ops<CloseSocket>().empty());
  EXPECT_TRUE(ops<TcpShutdown>().empty());
  EXPECT_EQ(stack_.tcp_conns(), 2u);
}

TEST_P(HostAliasTest, WithoutAHostAddressTrafficToTheAliasIsDropped) {
  if (v6()) cfg_.host_own->set(Ipv6Addr{});
  else cfg_.host_own->set(Ipv4Addr{});
  udp_to_alias(40000, 8091, "x");
  echo_to_alias(1, 1);
  syn_to_alias(40000, 8090);
  EXPECT_TRUE(ops<OpenSocket>().empty());
  EXPECT_TRUE(ops<TcpConnect>().empty());
  EXPECT_EQ(stack_.counters().drop_policy, 3u);
}

}  // namespace
}  // namespace netd::tap
