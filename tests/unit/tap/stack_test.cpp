// The tap Stack and its engines, driven with fixed frames and a fake clock:
// no sockets, no namespaces, no sleeping. Grouped by engine.
#include <gtest/gtest.h>

#include <cerrno>

#include "tap/stack.h"
#include "tap/wire/arp.h"
#include "tap/wire/builder.h"
#include "tap/wire/dhcp.h"
#include "tap/wire/ethernet.h"
#include "tap/wire/icmp.h"
#include "tap/wire/ipv4.h"
#include "tap/wire/tcp.h"
#include "tap/wire/udp.h"
#include "unit/tap/wire_frames.h"

namespace netd::tap {
namespace {

using wire::Ipv4Addr;
using wire::MacAddr;

const MacAddr kGuestMac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
const Ipv4Addr kGuest = Ipv4Addr::from_octets(10, 0, 2, 100);
const Ipv4Addr kGateway = Ipv4Addr::from_octets(10, 0, 2, 2);
const Ipv4Addr kDns = Ipv4Addr::from_octets(10, 0, 2, 3);
const Ipv4Addr kWorld = Ipv4Addr::from_octets(198, 51, 100, 10);

std::span<const std::byte> bytes(const uint8_t* p, size_t n) {
  return {reinterpret_cast<const std::byte*>(p), n};
}

class StackTest : public ::testing::Test {
 protected:
  StackTest() : stack_(make_config()) {}
  static StackConfig make_config() {
    auto c = StackConfig::from_cidr("10.0.2.0/24");
    EXPECT_TRUE(c.has_value());
    return *c;
  }
  wire::L2Addrs from_guest() const { return {kGuestMac, stack_.config().gateway_mac}; }
  Frame guest_udp(Ipv4Addr dst, uint16_t sport, uint16_t dport, std::string_view payload) {
    wire::IpHeader h{.src = kGuest, .dst = dst, .proto = wire::IpProto::Udp};
    return wire::build_ip_udp(from_guest(), h, sport, dport, wire::testdata::str_bytes(payload));
  }
  Frame guest_echo(Ipv4Addr dst, uint16_t id, uint16_t seq) {
    wire::IpHeader h{.src = kGuest, .dst = dst, .proto = wire::IpProto::Icmp};
    return wire::build_ip_icmp(from_guest(), h, wire::kIcmpEchoRequest, 0, (uint32_t{id} << 16) | seq,
                                 wire::testdata::str_bytes("ping-payload"));
  }
  void feed(std::span<const std::byte> f) { stack_.on_frame(now_, f, out_); }

  Time now_{seconds(1000)};
  Stack stack_;
  Actions out_;
};

// Parses out_.to_tap[i] down to IPv4; fails the test if it does not parse.
wire::Ipv4View ip_of(const Frame& f) {
  auto eth = wire::EthernetView::parse(f);
  EXPECT_TRUE(eth.has_value());
  auto ip = wire::Ipv4View::parse(eth->payload());
  EXPECT_TRUE(ip.has_value());
  return *ip;
}

// ---- ARP ------------------------------------------------------------------

TEST_F(StackTest, ArpRequestForGatewayIsAnsweredWithNetdMac) {
  wire::L2Addrs l2{kGuestMac, MacAddr::broadcast()};
  feed(wire::build_arp(l2, wire::kArpRequest, kGuestMac, kGuest, MacAddr{}, kGateway));
  ASSERT_EQ(out_.to_tap.size(), 1u);
  auto eth = wire::EthernetView::parse(out_.to_tap[0]);
  ASSERT_TRUE(eth);
  EXPECT_EQ(eth->dst(), kGuestMac);
  auto arp = wire::ArpView::parse(eth->payload());
  ASSERT_TRUE(arp);
  EXPECT_EQ(arp->op(), wire::kArpReply);
  EXPECT_EQ(arp->sender_ip(), kGateway);
  EXPECT_EQ(arp->sender_mac(), stack_.config().gateway_mac);
  EXPECT_EQ(arp->target_ip(), kGuest);
  EXPECT_EQ(stack_.counters().arp_replies, 1u);
}

TEST_F(StackTest, ArpRequestForDnsAddressIsAnswered) {
  wire::L2Addrs l2{kGuestMac, MacAddr::broadcast()};
  feed(wire::build_arp(l2, wire::kArpRequest, kGuestMac, kGuest, MacAddr{}, kDns));
  ASSERT_EQ(out_.to_tap.size(), 1u);
}

TEST_F(StackTest, ArpRequestForOtherAddressesGetsNoAnswer) {
  wire::L2Addrs l2{kGuestMac, MacAddr::broadcast()};
  feed(wire::build_arp(l2, wire::kArpRequest, kGuestMac, kGuest, MacAddr{}, Ipv4Addr::from_octets(10, 0, 2, 50)));
  feed(wire::build_arp(l2, wire::kArpRequest, kGuestMac, kGuest, MacAddr{}, kGuest));  // gratuitous
  EXPECT_TRUE(out_.to_tap.empty());
}

// ---- DHCP -----------------------------------------------------------------

TEST_F(StackTest, DhcpDiscoverFromUdhcpcGetsOfferWithOptions) {
  feed(bytes(wire::testdata::kDhcpDiscoverFrame, sizeof wire::testdata::kDhcpDiscoverFrame));
  ASSERT_EQ(out_.to_tap.size(), 1u);
  auto ip = ip_of(out_.to_tap[0]);
  EXPECT_EQ(ip.src(), kGateway);
  auto udp = wire::UdpView::parse(ip.payload(), wire::ipv4_pseudo_header(ip.src(), ip.dst(), wire::IpProto::Udp,
                                                                         static_cast<uint16_t>(ip.payload().size())));
  ASSERT_TRUE(udp);
  EXPECT_EQ(udp->src_port(), 67);
  EXPECT_EQ(udp->dst_port(), 68);
  auto dhcp = wire::DhcpView::parse(udp->payload());
  ASSERT_TRUE(dhcp);
  EXPECT_EQ(dhcp->op(), 2);
  EXPECT_EQ(dhcp->message_type(), wire::kDhcpOffer);
  EXPECT_EQ(dhcp->yiaddr(), kGuest);
  EXPECT_EQ(dhcp->server_id(), kGateway);
  EXPECT_EQ(dhcp->xid(), 0x1599e161u);
  auto router = dhcp->option(wire::kDhcpOptRouter);
  ASSERT_TRUE(router && router->size() == 4);
  auto dns = dhcp->option(wire::kDhcpOptDns);
  ASSERT_TRUE(dns && dns->size() == 4);
  EXPECT_EQ(std::to_integer<int>((*dns)[3]), 3);
  auto mtu = dhcp->option(wire::kDhcpOptInterfaceMtu);
  ASSERT_TRUE(mtu && mtu->size() == 2);
  EXPECT_EQ((std::to_integer<int>((*mtu)[0]) << 8) | std::to_integer<int>((*mtu)[1]), 65520);
  EXPECT_TRUE(dhcp->option(wire::kDhcpOptLeaseTime).has_value());
}

TEST_F(StackTest, DhcpRequestForAnotherAddressIsNaked) {
  // The captured REQUEST asks for 10.0.2.15 from server 10.0.2.2; we lease .100.
  feed(bytes(wire::testdata::kDhcpRequestFrame, sizeof wire::testdata::kDhcpRequestFrame));
  ASSERT_EQ(out_.to_tap.size(), 1u);
  auto ip = ip_of(out_.to_tap[0]);
  EXPECT_TRUE(ip.dst().is_broadcast());
  auto udp = wire::UdpView::parse(ip.payload(), wire::ipv4_pseudo_header(ip.src(), ip.dst(), wire::IpProto::Udp,
                                                                         static_cast<uint16_t>(ip.payload().size())));
  ASSERT_TRUE(udp);
  auto dhcp = wire::DhcpView::parse(udp->payload());
  ASSERT_TRUE(dhcp);
  EXPECT_EQ(dhcp->message_type(), wire::kDhcpNak);
  EXPECT_EQ(stack_.counters().dhcp_naks, 1u);
}

TEST(DhcpServer, RequestForTheGuestAddressIsAcked) {
  auto cfg = StackConfig::from_cidr("10.0.2.0/24");
  ASSERT_TRUE(cfg);
  cfg->guest = Ipv4Addr::from_octets(10, 0, 2, 15);  // what the capture asks for
  Stack stack(*cfg);
  Actions out;
  stack.on_frame(Time{}, bytes(wire::testdata::kDhcpRequestFrame, sizeof wire::testdata::kDhcpRequestFrame), out);
  ASSERT_EQ(out.to_tap.size(), 1u);
  EXPECT_EQ(stack.counters().dhcp_acks, 1u);
}

// ---- ICMP -----------------------------------------------------------------

TEST_F(StackTest, EchoToGatewayIsAnsweredLocally) {
  feed(guest_echo(kGateway, 0x1234, 7));
  ASSERT_EQ(out_.to_tap.size(), 1u);
  EXPECT_TRUE(out_.to_host.empty());
  auto ip = ip_of(out_.to_tap[0]);
  EXPECT_EQ(ip.src(), kGateway);
  EXPECT_EQ(ip.dst(), kGuest);
  auto icmp = wire::IcmpView::parse(ip.payload());
  ASSERT_TRUE(icmp);
  EXPECT_EQ(icmp->type(), wire::kIcmpEchoReply);
  EXPECT_EQ(icmp->echo_id(), 0x1234);
  EXPECT_EQ(icmp->echo_seq(), 7);
}

TEST_F(StackTest, EchoToWorldOpensOnePingSocketPerFlowAndRewritesId) {
  feed(guest_echo(kWorld, 0x1234, 1));
  feed(guest_echo(kWorld, 0x1234, 2));
  ASSERT_EQ(out_.to_host.size(), 3u);  // open, send, send
  auto* open = std::get_if<OpenSocket>(&out_.to_host[0]);
  ASSERT_NE(open, nullptr);
  EXPECT_EQ(open->kind, SocketKind::Ping);
  EXPECT_EQ(open->dst, kWorld);
  // The kernel's ping socket answers with its own identifier (0x9999 here).
  wire::IpHeader h{.src = kWorld, .dst = kGuest, .proto = wire::IpProto::Icmp};
  Frame reply = wire::build_ip_icmp({}, h, wire::kIcmpEchoReply, 0, (0x9999u << 16) | 2,
                                      wire::testdata::str_bytes("ping-payload"));
  auto icmp_msg = std::span<const std::byte>(reply).subspan(14 + 20);
  out_.clear();
  stack_.on_socket_data(now_, SocketKind::Ping, open->flow, icmp_msg, out_);
  ASSERT_EQ(out_.to_tap.size(), 1u);
  auto ip = ip_of(out_.to_tap[0]);
  EXPECT_EQ(ip.src(), kWorld);
  auto icmp = wire::IcmpView::parse(ip.payload());
  ASSERT_TRUE(icmp);
  EXPECT_EQ(icmp->echo_id(), 0x1234);
  EXPECT_EQ(icmp->echo_seq(), 2);
}

TEST_F(StackTest, PingSocketDeniedIsLoggedOnceAndLaterEchoesDropped) {
  feed(guest_echo(kWorld, 1, 1));
  auto flow = std::get<OpenSocket>(out_.to_host[0]).flow;
  out_.clear();
  stack_.on_socket_error(now_, SocketKind::Ping, flow, EACCES, out_);
  ASSERT_EQ(out_.to_host.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<CloseSocket>(out_.to_host[0]));
  out_.clear();
  feed(guest_echo(kWorld, 1, 2));
  EXPECT_TRUE(out_.to_host.empty());
  EXPECT_EQ(stack_.counters().icmp_no_ping_socket, 2u);
}

// ---- UDP ------------------------------------------------------------------

TEST_F(StackTest, UdpToGatewayGoesToHostLoopback) {
  feed(guest_udp(kGateway, 40000, 5007, "hi"));
  ASSERT_EQ(out_.to_host.size(), 2u);
  auto& open = std::get<OpenSocket>(out_.to_host[0]);
  EXPECT_EQ(open.kind, SocketKind::Udp);
  EXPECT_EQ(open.dst, Ipv4Addr::from_octets(127, 0, 0, 1));
  EXPECT_EQ(open.port, 5007);
  auto& send = std::get<SendOnSocket>(out_.to_host[1]);
  EXPECT_EQ(send.data.size(), 2u);
}

TEST(UdpPolicy, HostLoopbackDisabledDropsGatewayTraffic) {
  auto cfg = StackConfig::from_cidr("10.0.2.0/24");
  ASSERT_TRUE(cfg);
  cfg->host_loopback = false;
  Stack stack(*cfg);
  Actions out;
  wire::IpHeader h{.src = kGuest, .dst = kGateway, .proto = wire::IpProto::Udp};
  stack.on_frame(Time{}, wire::build_ip_udp({kGuestMac, cfg->gateway_mac}, h, 1, 5007, {}), out);
  EXPECT_TRUE(out.to_host.empty());
  EXPECT_EQ(stack.counters().drop_policy, 1u);
}

TEST_F(StackTest, UdpReplyIsFramedFromTheAddressTheGuestUsed) {
  feed(guest_udp(kGateway, 40000, 5007, "hi"));
  FlowId flow = std::get<OpenSocket>(out_.to_host[0]).flow;
  out_.clear();
  stack_.on_socket_data(now_, SocketKind::Udp, flow, wire::testdata::str_bytes("pong"), out_);
  ASSERT_EQ(out_.to_tap.size(), 1u);
  auto ip = ip_of(out_.to_tap[0]);
  EXPECT_EQ(ip.src(), kGateway);
  EXPECT_EQ(ip.dst(), kGuest);
  auto udp = wire::UdpView::parse(ip.payload(), wire::ipv4_pseudo_header(ip.src(), ip.dst(), wire::IpProto::Udp,
                                                                         static_cast<uint16_t>(ip.payload().size())));
  ASSERT_TRUE(udp);
  EXPECT_EQ(udp->src_port(), 5007);
  EXPECT_EQ(udp->dst_port(), 40000);
  EXPECT_EQ(udp->payload().size(), 4u);
}

TEST_F(StackTest, UdpConnectionRefusedBecomesIcmpPortUnreachableQuotingTheDatagram) {
  feed(guest_udp(kWorld, 40000, 9, "x"));
  FlowId flow = std::get<OpenSocket>(out_.to_host[0]).flow;
  out_.clear();
  stack_.on_socket_error(now_, SocketKind::Udp, flow, ECONNREFUSED, out_);
  ASSERT_EQ(out_.to_tap.size(), 1u);
  auto ip = ip_of(out_.to_tap[0]);
  EXPECT_EQ(ip.src(), kWorld);
  auto icmp = wire::IcmpView::parse(ip.payload());
  ASSERT_TRUE(icmp);
  EXPECT_EQ(icmp->type(), wire::kIcmpDestUnreachable);
  EXPECT_EQ(icmp->code(), wire::kIcmpPortUnreachable);
  auto quoted = wire::Ipv4View::parse(icmp->payload());
  // The quote is header + 8 bytes: its total length field names the original
  // datagram, which is longer than the quote, so parsing it whole must fail...
  EXPECT_FALSE(quoted.has_value());
  // ...but the addresses are there.
  EXPECT_GE(icmp->payload().size(), 28u);
}

// ---- limits -----------------------------------------------------------------

TEST_F(StackTest, UdpFlowLimitAnswersAdministrativelyProhibited) {
  for (uint16_t i = 0; i < UdpEngine::kMaxFlows; ++i) feed(guest_udp(kWorld, static_cast<uint16_t>(20000 + i), 7, "x"));
  ASSERT_EQ(stack_.udp_flows(), UdpEngine::kMaxFlows);
  out_.clear();
  feed(guest_udp(kWorld, 19999, 7, "one too many"));
  EXPECT_TRUE(out_.to_host.empty());
  ASSERT_EQ(out_.to_tap.size(), 1u);
  auto ip = ip_of(out_.to_tap[0]);
  EXPECT_EQ(ip.src(), kWorld);
  auto icmp = wire::IcmpView::parse(ip.payload());
  ASSERT_TRUE(icmp);
  EXPECT_EQ(icmp->type(), wire::kIcmpDestUnreachable);
  EXPECT_EQ(icmp->code(), 13);  // communication administratively prohibited
  EXPECT_EQ(stack_.counters().udp_flow_limit, 1u);
}

TEST_F(StackTest, UdpSocketOutOfFdsRefusesAndForgetsTheFlow) {
  feed(guest_udp(kWorld, 40000, 7, "x"));
  FlowId flow = std::get<OpenSocket>(out_.to_host[0]).flow;
  out_.clear();
  stack_.on_socket_error(now_, SocketKind::Udp, flow, EMFILE, out_);
  ASSERT_EQ(out_.to_tap.size(), 1u);
  auto icmp = wire::IcmpView::parse(ip_of(out_.to_tap[0]).payload());
  ASSERT_TRUE(icmp);
  EXPECT_EQ(icmp->code(), 13);
  EXPECT_EQ(stack_.counters().fd_exhausted, 1u);
  EXPECT_EQ(stack_.udp_flows(), 0u);
  out_.clear();
  feed(guest_udp(kWorld, 40000, 7, "again"));  // the next datagram tries a new socket
  ASSERT_FALSE(out_.to_host.empty());
  EXPECT_TRUE(std::holds_alternative<OpenSocket>(out_.to_host[0]));
}

TEST_F(StackTest, UdpFlowsExpireAfterIdleTimeout) {
  feed(guest_udp(kWorld, 40000, 7, "x"));
  EXPECT_EQ(stack_.udp_flows(), 1u);
  out_.clear();
  stack_.on_timer(now_ + seconds(10), out_);
  EXPECT_EQ(stack_.udp_flows(), 1u);
  stack_.on_timer(now_ + UdpEngine::kUnrepliedTimeout + seconds(1), out_);
  EXPECT_EQ(stack_.udp_flows(), 0u);
  ASSERT_EQ(out_.to_host.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<CloseSocket>(out_.to_host[0]));
  EXPECT_EQ(stack_.counters().udp_flows_expired, 1u);
}

TEST_F(StackTest, UdpToLoopbackOrBroadcastIsNotForwarded) {
  feed(guest_udp(Ipv4Addr::from_octets(127, 0, 0, 1), 1, 2, "x"));
  feed(guest_udp(Ipv4Addr::from_octets(10, 0, 2, 255), 1, 2, "x"));
  feed(guest_udp(Ipv4Addr::from_octets(10, 0, 2, 77), 1, 2, "x"));
  EXPECT_TRUE(out_.to_host.empty());
}

// ---- UDP: published ports (inbound flows) ----------------------------------

HostPeer peer4(Ipv4Addr a, uint16_t port) { return HostPeer{wire::IpAddr(a), port}; }
HostPeer peer6(std::array<uint8_t, 16> a, uint16_t port) { return HostPeer{wire::IpAddr(wire::Ipv6Addr{a}), port}; }
const std::array<uint8_t, 16> kV6Client{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};

// The UDP header of a frame to the guest, checksum verified.
wire::UdpView udp_of(const wire::Ipv4View& ip) {
  auto udp = wire::UdpView::parse(ip.payload(), wire::ipv4_pseudo_header(ip.src(), ip.dst(), wire::IpProto::Udp,
                                                                         static_cast<uint16_t>(ip.payload().size())));
  EXPECT_TRUE(udp.has_value());
  return *udp;
}

TEST_F(StackTest, PublishedUdpFromAV4MappedClientShowsItsIpv4Address) {
  std::array<uint8_t, 16> mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 10};
  stack_.on_udp_inbound(now_, 0, peer6(mapped, 41000), 53, {}, out_);
  ASSERT_EQ(out_.to_tap.size(), 1u);
  EXPECT_EQ(ip_of(out_.to_tap[0]).src(), kWorld);
}

TEST_F(StackTest, PublishedUdpDatagramReachesTheGuestFromTheClientsAddress) {
  auto flow = stack_.on_udp_inbound(now_, 3, peer4(kWorld, 41000), 5353, wire::testdata::str_bytes("q"), out_);
  ASSERT_TRUE(flow);
  EXPECT_TRUE(out_.to_host.empty());  // no host socket of its own
  ASSERT_EQ(out_.to_tap.size(), 1u);
  auto ip = ip_of(out_.to_tap[0]);
  EXPECT_EQ(ip.src(), kWorld);
  EXPECT_EQ(ip.dst(), kGuest);
  auto udp = udp_of(ip);
  EXPECT_EQ(udp.src_port(), 41000);
  EXPECT_EQ(udp.dst_port(), 5353);
  EXPECT_EQ(udp.payload().size(), 1u);
  EXPECT_EQ(stack_.udp_flows(), 1u);
  EXPECT_EQ(stack_.counters().udp_published_flows, 1u);
  EXPECT_EQ(stack_.counters().udp_published_in, 1u);
}

TEST_F(StackTest, GuestReplyToAPublishedClientLeavesFromThePublishedSocket) {
  stack_.on_udp_inbound(now_, 3, peer4(kWorld, 41000), 5353, wire::testdata::str_bytes("q"), out_);
  out_.clear();
  feed(guest_udp(kWorld, 5353, 41000, "answer"));
  ASSERT_EQ(out_.to_host.size(), 1u);  // no OpenSocket: the reply goes out of the published port
  auto& send = std::get<SendToPeer>(out_.to_host[0]);
  EXPECT_EQ(send.listener, 3u);
  EXPECT_EQ(send.peer, peer4(kWorld, 41000));
  EXPECT_EQ(send.data.size(), 6u);
  EXPECT_EQ(stack_.counters().udp_published_out, 1u);
  EXPECT_EQ(stack_.udp_flows(), 1u);
}

TEST_F(StackTest, PublishedUdpFromLoopbackOrIpv6AppearsAsTheGatewayAndRepliesStillFlow) {
  auto cfg = make_config();
  cfg.host_loopback = false;  // replies to published clients are not "to the host's loopback"
  Stack stack(cfg);
  Actions out;
  stack.on_udp_inbound(now_, 0, peer4(Ipv4Addr::from_octets(127, 0, 0, 1), 41000), 53, {}, out);
  stack.on_udp_inbound(now_, 0, peer6(kV6Client, 41001), 53, {}, out);
  ASSERT_EQ(out.to_tap.size(), 2u);
  EXPECT_EQ(ip_of(out.to_tap[0]).src(), kGateway);
  EXPECT_EQ(ip_of(out.to_tap[1]).src(), kGateway);
  out.clear();
  wire::IpHeader h{.src = kGuest, .dst = kGateway, .proto = wire::IpProto::Udp};
  stack.on_frame(now_, wire::build_ip_udp({kGuestMac, cfg.gateway_mac}, h, 53, 41001, {}), out);
  ASSERT_EQ(out.to_host.size(), 1u);
  EXPECT_EQ(std::get<SendToPeer>(out.to_host[0]).peer, peer6(kV6Client, 41001));
  EXPECT_EQ(stack.counters().drop_policy, 0u);
}

TEST_F(StackTest, PublishedUdpClientsTheGuestCannotTellApartAreDroppedAndCounted) {
  // Two IPv6 clients with the same port would both be gateway:41000 to the guest.
  auto other = kV6Client;
  other[15] = 0x11;
  ASSERT_TRUE(stack_.on_udp_inbound(now_, 0, peer6(kV6Client, 41000), 53, {}, out_));
  EXPECT_FALSE(stack_.on_udp_inbound(now_, 0, peer6(other, 41000), 53, {}, out_));
  EXPECT_EQ(out_.to_tap.size(), 1u);
  EXPECT_EQ(stack_.counters().udp_published_drops, 1u);
  // The first client keeps its flow.
  EXPECT_TRUE(stack_.on_udp_inbound(now_, 0, peer6(kV6Client, 41000), 53, {}, out_));
}

TEST_F(StackTest, PublishedUdpDatagramTooLargeForIpv4IsDroppedAndCounted) {
  std::vector<std::byte> big(UdpEngine::kMaxPayload + 1);
  EXPECT_FALSE(stack_.on_udp_inbound(now_, 0, peer6(kV6Client, 41000), 53, big, out_));
  EXPECT_TRUE(out_.to_tap.empty());
  EXPECT_EQ(stack_.counters().udp_published_drops, 1u);
  big.pop_back();
  EXPECT_TRUE(stack_.on_udp_inbound(now_, 0, peer6(kV6Client, 41000), 53, big, out_));
  ASSERT_EQ(out_.to_tap.size(), 1u);
  EXPECT_EQ(ip_of(out_.to_tap[0]).total_length(), 65535u);
}

TEST_F(StackTest, PublishedUdpFlowsExpireLikeOutboundOnes) {
  stack_.on_udp_inbound(now_, 0, peer4(kWorld, 41000), 53, {}, out_);
  stack_.on_timer(now_ + UdpEngine::kUnrepliedTimeout + seconds(1), out_);
  EXPECT_EQ(stack_.udp_flows(), 0u);
  // Once the guest replied, the flow lives for the replied timeout.
  Time t = now_ + seconds(100);
  stack_.on_udp_inbound(t, 0, peer4(kWorld, 41000), 53, {}, out_);
  stack_.on_frame(t, guest_udp(kWorld, 53, 41000, "a"), out_);
  stack_.on_timer(t + UdpEngine::kUnrepliedTimeout + seconds(1), out_);
  EXPECT_EQ(stack_.udp_flows(), 1u);
  stack_.on_timer(t + UdpEngine::kRepliedTimeout + seconds(1), out_);
  EXPECT_EQ(stack_.udp_flows(), 0u);
}

TEST_F(StackTest, ClosingAPublishedUdpSocketEndsItsFlowsOnly) {
  stack_.on_udp_inbound(now_, 1, peer4(kWorld, 41000), 53, {}, out_);
  stack_.on_udp_inbound(now_, 2, peer4(kWorld, 41001), 54, {}, out_);
  feed(guest_udp(kWorld, 40000, 7, "outbound"));
  EXPECT_EQ(stack_.udp_flows(), 3u);
  stack_.on_udp_listener_closed(1, out_);
  EXPECT_EQ(stack_.udp_flows(), 2u);
  out_.clear();
  feed(guest_udp(kWorld, 54, 41001, "still"));
  ASSERT_EQ(out_.to_host.size(), 1u);
  EXPECT_EQ(std::get<SendToPeer>(out_.to_host[0]).listener, 2u);
}

TEST_F(StackTest, PublishedUdpToAnotherGuestAddressUsesIt) {
  Ipv4Addr other = Ipv4Addr::from_octets(10, 0, 2, 50);
  stack_.on_udp_inbound(now_, 0, peer4(kWorld, 41000), 53, {}, out_, other);
  ASSERT_EQ(out_.to_tap.size(), 1u);
  EXPECT_EQ(ip_of(out_.to_tap[0]).dst(), other);
}

// ---- DNS relay ------------------------------------------------------------

std::vector<std::byte> dns_query() {
  // id 0xbeef, RD, one question: host.test A IN.
  const uint8_t q[] = {0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 4, 'h', 'o', 's', 't',
                       4,    't',  'e',  's',  't', 0, 0, 1, 0, 1};
  return {reinterpret_cast<const std::byte*>(q), reinterpret_cast<const std::byte*>(q) + sizeof q};
}

TEST_F(StackTest, DnsQueryIsForwardedAndAnswerFramedFromDnsAddress) {
  auto q = dns_query();
  wire::IpHeader h{.src = kGuest, .dst = kDns, .proto = wire::IpProto::Udp};
  feed(wire::build_ip_udp(from_guest(), h, 33333, 53, q));
  ASSERT_EQ(out_.to_host.size(), 1u);
  auto& fwd = std::get<ForwardDns>(out_.to_host[0]);
  EXPECT_EQ(fwd.query, q);
  uint64_t token = fwd.token;
  out_.clear();
  stack_.on_dns_reply(now_, token, q, out_);  // any message will do as "the answer"
  ASSERT_EQ(out_.to_tap.size(), 1u);
  auto ip = ip_of(out_.to_tap[0]);
  EXPECT_EQ(ip.src(), kDns);
  EXPECT_EQ(ip.dst(), kGuest);
}

TEST_F(StackTest, DnsRelaysOnlyStandardQueries) {
  // The upstream may be on the host's loopback: nothing but a query may reach it.
  auto q = dns_query();
  auto response = q;
  response[2] = std::byte{0x81};  // QR set
  auto notify = q;
  notify[2] = std::byte{0x21};  // opcode NOTIFY (4)
  auto two_questions = q;
  two_questions[5] = std::byte{2};
  auto truncated_question = std::vector<std::byte>(q.begin(), q.end() - 3);
  std::vector<std::byte> http(18, std::byte{'G'});
  for (const auto& bad : {response, notify, two_questions, truncated_question, http, std::vector<std::byte>(12)}) {
    wire::IpHeader h{.src = kGuest, .dst = kDns, .proto = wire::IpProto::Udp};
    feed(wire::build_ip_udp(from_guest(), h, 33333, 53, bad));
    EXPECT_TRUE(out_.to_host.empty());
  }
  EXPECT_EQ(stack_.counters().drop_malformed, 6u);
  EXPECT_EQ(stack_.counters().dns_queries, 0u);
}

TEST_F(StackTest, DnsUpstreamTimeoutAnswersServfailWithinDeadline) {
  auto q = dns_query();
  wire::IpHeader h{.src = kGuest, .dst = kDns, .proto = wire::IpProto::Udp};
  feed(wire::build_ip_udp(from_guest(), h, 33333, 53, q));
  out_.clear();
  auto deadline = stack_.next_deadline();
  ASSERT_TRUE(deadline);
  EXPECT_LE(*deadline - now_, seconds(3));
  stack_.on_timer(*deadline, out_);
  ASSERT_EQ(out_.to_tap.size(), 1u);
  auto ip = ip_of(out_.to_tap[0]);
  auto udp = wire::UdpView::parse(ip.payload(), wire::ipv4_pseudo_header(ip.src(), ip.dst(), wire::IpProto::Udp,
                                                                         static_cast<uint16_t>(ip.payload().size())));
  ASSERT_TRUE(udp);
  auto msg = udp->payload();
  ASSERT_GE(msg.size(), 12u);
  EXPECT_EQ(std::to_integer<int>(msg[0]), 0xbe);
  EXPECT_EQ(std::to_integer<int>(msg[3]) & 0x0f, 2);  // RCODE SERVFAIL
  EXPECT_EQ(stack_.counters().dns_servfail, 1u);
}

// ---- TCP: detailed state tests live in tcp_engine_test.cpp ---------------------

TEST_F(StackTest, TcpSynToWorldStartsAHostConnect) {
  wire::TcpSegmentSpec s{};
  s.sport = 40000;
  s.dport = 80;
  s.seq = wire::SeqNum(1000);
  s.flags = wire::kTcpSyn;
  s.window = 65535;
  wire::IpHeader h{.src = kGuest, .dst = kWorld, .proto = wire::IpProto::Tcp};
  feed(wire::build_ip_tcp(from_guest(), h, s, {}));
  EXPECT_TRUE(out_.to_tap.empty());  // no SYN-ACK before the host socket is connected
  ASSERT_EQ(out_.to_host.size(), 1u);
  auto& c = std::get<TcpConnect>(out_.to_host[0]);
  EXPECT_EQ(c.dst, kWorld);
  EXPECT_EQ(c.port, 80);
}

// ---- Garbage ----------------------------------------------------------------

TEST_F(StackTest, EveryTruncationOfEveryCaptureIsDroppedOrHandledWithoutCrash) {
  const std::pair<const uint8_t*, size_t> frames[] = {
      {wire::testdata::kDhcpDiscoverFrame, sizeof wire::testdata::kDhcpDiscoverFrame},
      {wire::testdata::kTcpSynFrame, sizeof wire::testdata::kTcpSynFrame},
      {wire::testdata::kUdpFrame, sizeof wire::testdata::kUdpFrame},
      {wire::testdata::kIcmpEchoRequestFrame, sizeof wire::testdata::kIcmpEchoRequestFrame},
  };
  uint64_t fed = 0;
  for (auto [p, n] : frames) {
    for (size_t len = 0; len < n; ++len, ++fed) feed(bytes(p, len));
  }
  const auto& c = stack_.counters();
  EXPECT_EQ(c.frames_in, fed);
  // The captures are addressed to another MAC, so whole-enough frames are
  // "not for us"; shorter ones are malformed. Nothing reached an engine.
  EXPECT_EQ(c.drop_malformed + c.drop_not_for_us + c.drop_unsupported, fed);
  EXPECT_TRUE(out_.to_host.empty());
}

}  // namespace
}  // namespace netd::tap
