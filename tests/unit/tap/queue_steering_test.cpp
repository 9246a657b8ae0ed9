// Which queue of a multi-queue tap answers a frame (tap/queue_steering.h):
// fixed frames built with the wire builders, one decision each, and a real
// Stack's flows for "known".
#include <gtest/gtest.h>

#include "tap/queue_steering.h"
#include "tap/stack.h"
#include "tap/wire/builder.h"
#include "tap/wire/tcp.h"
#include "unit/tap/wire_frames.h"

namespace netd::tap {
namespace {

using wire::IpAddr;
using wire::Ipv4Addr;
using wire::MacAddr;

const MacAddr kGuestMac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
const Ipv4Addr kGuest = Ipv4Addr::from_octets(10, 0, 2, 100);
const Ipv4Addr kGateway = Ipv4Addr::from_octets(10, 0, 2, 2);
const Ipv4Addr kDns = Ipv4Addr::from_octets(10, 0, 2, 3);
const Ipv4Addr kWorld = Ipv4Addr::from_octets(198, 51, 100, 10);

class QueueSteering : public ::testing::Test {
 protected:
  QueueSteering() : stack_(config()) {}
  static StackConfig config() {
    auto c = StackConfig::from_cidr("10.0.2.0/24");
    EXPECT_TRUE(c.has_value());
    return *c;
  }
  wire::L2Addrs to_netd() const { return {kGuestMac, stack_.config().gateway_mac}; }
  std::vector<std::byte> tcp(Ipv4Addr dst, uint16_t sport, uint16_t dport, uint8_t flags) {
    wire::IpHeader h{.src = kGuest, .dst = dst, .proto = wire::IpProto::Tcp};
    wire::TcpSegmentSpec s{.sport = sport, .dport = dport, .seq = wire::SeqNum(1000), .flags = flags,
                           .window = 65535};
    return wire::build_ip_tcp(to_netd(), h, s, {});
  }
  std::vector<std::byte> udp(Ipv4Addr dst, uint16_t sport, uint16_t dport) {
    wire::IpHeader h{.src = kGuest, .dst = dst, .proto = wire::IpProto::Udp};
    return wire::build_ip_udp(to_netd(), h, sport, dport, wire::testdata::str_bytes("x"));
  }
  QueueRoute route(std::span<const std::byte> frame) {
    auto knows = [this](wire::IpProto p, const FlowKey& k) { return stack_.knows_flow(p, k); };
    return route_on_worker(frame, stack_.config(), ports_, knows);
  }
  void feed(std::span<const std::byte> frame) { stack_.on_frame(now_, frame, out_); }

  Time now_{seconds(1000)};
  Stack stack_;
  Actions out_;
  PublishedGuestPorts ports_;
};

TEST_F(QueueSteering, NewGuestConnectionStaysOnItsQueue) {
  EXPECT_EQ(route(tcp(kWorld, 40000, 80, wire::kTcpSyn)), QueueRoute::Local);
}

TEST_F(QueueSteering, SegmentOfAnUnknownConnectionGoesToQueueZero) {
  // A published port's connection, queue 0's, after the kernel forgot its flow.
  EXPECT_EQ(route(tcp(kWorld, 8080, 51000, wire::kTcpAck)), QueueRoute::Handoff);
  EXPECT_EQ(route(tcp(kWorld, 8080, 51000, wire::kTcpAck | wire::kTcpPsh)), QueueRoute::Handoff);
  EXPECT_EQ(route(tcp(kWorld, 8080, 51000, wire::kTcpSyn | wire::kTcpAck)), QueueRoute::Handoff);
  EXPECT_EQ(route(tcp(kWorld, 8080, 51000, wire::kTcpRst)), QueueRoute::Handoff);
}

TEST_F(QueueSteering, SegmentOfAConnectionThisQueueKnowsStays) {
  feed(tcp(kWorld, 40000, 80, wire::kTcpSyn));
  ASSERT_TRUE(stack_.knows_flow(wire::IpProto::Tcp, FlowKey{IpAddr(kGuest), 40000, IpAddr(kWorld), 80}));
  EXPECT_EQ(route(tcp(kWorld, 40000, 80, wire::kTcpAck)), QueueRoute::Local);
  EXPECT_EQ(route(tcp(kWorld, 40001, 80, wire::kTcpAck)), QueueRoute::Handoff);  // another port: not known
}

TEST_F(QueueSteering, UdpStaysUnlessFromAPublishedGuestPort) {
  EXPECT_EQ(route(udp(kWorld, 5000, 7)), QueueRoute::Local);
  ports_.add(5000);
  EXPECT_EQ(route(udp(kWorld, 5000, 7)), QueueRoute::Handoff);
  ports_.add(5000);  // published twice (two host ports to one guest port)
  ports_.remove(5000);
  EXPECT_EQ(route(udp(kWorld, 5000, 7)), QueueRoute::Handoff);
  ports_.remove(5000);
  EXPECT_EQ(route(udp(kWorld, 5000, 7)), QueueRoute::Local);
}

TEST_F(QueueSteering, UdpFlowThisQueueOpenedStaysEvenFromAPublishedPort) {
  feed(udp(kGateway, 5001, 7));
  ports_.add(5001);
  EXPECT_EQ(route(udp(kGateway, 5001, 7)), QueueRoute::Local);
  EXPECT_EQ(route(udp(kGateway, 5001, 8)), QueueRoute::Handoff);
}

TEST_F(QueueSteering, DnsAddressGoesToQueueZero) {
  EXPECT_EQ(route(udp(kDns, 5000, 53)), QueueRoute::Handoff);
  EXPECT_EQ(route(tcp(kDns, 40000, 53, wire::kTcpSyn)), QueueRoute::Handoff);
}

TEST_F(QueueSteering, LinkAndControlTrafficGoesToQueueZero) {
  const auto& arp = wire::testdata::kArpRequestFrame;
  EXPECT_EQ(route({reinterpret_cast<const std::byte*>(arp), sizeof arp}), QueueRoute::Handoff);
  wire::IpHeader h{.src = kGuest, .dst = kWorld, .proto = wire::IpProto::Icmp};
  auto echo = wire::build_ip_icmp(to_netd(), h, wire::kIcmpEchoRequest, 0, 0x10001, wire::testdata::str_bytes("p"));
  EXPECT_EQ(route(echo), QueueRoute::Handoff);
  // A broadcast (a DHCP discover's destination MAC).
  wire::IpHeader b{.src = Ipv4Addr{}, .dst = Ipv4Addr::from_octets(255, 255, 255, 255)};
  auto dhcp = wire::build_ip_udp({kGuestMac, MacAddr::broadcast()}, b, 68, 67, wire::testdata::str_bytes("d"));
  EXPECT_EQ(route(dhcp), QueueRoute::Handoff);
}

TEST_F(QueueSteering, MalformedFramesStayToBeCountedWhereTheyArrived) {
  auto f = tcp(kWorld, 8080, 51000, wire::kTcpAck);
  EXPECT_EQ(route(std::span<const std::byte>(f).first(10)), QueueRoute::Local);   // no Ethernet header
  EXPECT_EQ(route(std::span<const std::byte>(f).first(30)), QueueRoute::Local);   // IPv4 header cut
  EXPECT_EQ(route(std::span<const std::byte>(f).first(40)), QueueRoute::Local);   // TCP header cut
}

}  // namespace
}  // namespace netd::tap
