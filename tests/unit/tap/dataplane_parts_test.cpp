// The data plane's parts on a real event loop (each test once per loop):
// TapPort with a datagram socketpair standing in for the tap (a frame in, the
// Stack's answer out through writev, with and without the virtio-net
// header), and PublishedPorts with a UDP socket on loopback (a client's
// datagram reaches the guest; the flow list's JSON, byte for byte; removal).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tap/host_sockets.h"
#include "tap/published_ports.h"
#include "tap/tap_port.h"
#include "tap/vnet_header.h"
#include "tap/wire/arp.h"
#include "tap/wire/builder.h"
#include "tap/wire/ethernet.h"
#include "tap/wire/udp.h"
#include "unit/common/loop_test_util.h"

namespace netd::tap {
namespace {

using testing::run_until;
using wire::Ipv4Addr;
using wire::MacAddr;

const MacAddr kGuestMac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
const Ipv4Addr kGuest = Ipv4Addr::from_octets(10, 0, 2, 100);
const Ipv4Addr kGateway = Ipv4Addr::from_octets(10, 0, 2, 2);

StackConfig config() {
  auto c = StackConfig::from_cidr("10.0.2.0/24");
  EXPECT_TRUE(c.has_value());
  return *c;
}

class DataplanePartsTest : public testing::LoopTest {
 protected:
  Stack stack{config()};
  Actions actions;
  Time now{seconds(1000)};
};
NETD_FOR_EACH_LOOP(DataplanePartsTest);

struct TapPair {
  UniqueFd ours, guest;  // `ours` goes to the TapPort; the test writes and reads `guest`
  TapPair() {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) == 0) ours.reset(sv[0]), guest.reset(sv[1]);
  }
  std::vector<std::byte> read_frame() const {
    std::vector<std::byte> buf(65536);
    ssize_t n = ::recv(guest.get(), buf.data(), buf.size(), MSG_DONTWAIT);
    buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return buf;
  }
};

std::vector<std::byte> arp_who_has_gateway() {
  return wire::build_arp({kGuestMac, MacAddr::broadcast()}, wire::kArpRequest, kGuestMac, kGuest, MacAddr{}, kGateway);
}

// The frame the stack answered, checked as netd's ARP reply for the gateway.
void expect_arp_reply(std::span<const std::byte> f, const Stack& s) {
  auto eth = wire::EthernetView::parse(f);
  ASSERT_TRUE(eth);
  auto arp = wire::ArpView::parse(eth->payload());
  ASSERT_TRUE(arp);
  EXPECT_EQ(arp->op(), wire::kArpReply);
  EXPECT_EQ(arp->sender_ip(), kGateway);
  EXPECT_EQ(arp->sender_mac(), s.config().gateway_mac);
}

TEST_P(DataplanePartsTest, TapPortReadsAFrameAndWritesTheAnswer) {
  TapPair tap;
  bool failed = false;
  TapPort port(*loop_, std::move(tap.ours), false, stack, actions, nullptr, [&] { failed = true; });
  port.start();
  std::vector<std::byte> req = arp_who_has_gateway();
  ASSERT_EQ(::send(tap.guest.get(), req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
  ASSERT_TRUE(run_until(*loop_, [&] { return port.backlog(); }));
  port.drain(now);
  EXPECT_FALSE(port.backlog());  // one frame: drained to EAGAIN
  ASSERT_EQ(actions.to_tap.size(), 1u);
  port.write(now, actions.to_tap[0]);
  auto reply = tap.read_frame();
  expect_arp_reply(reply, stack);
  EXPECT_EQ(stack.counters().frames_out, 1u);
  EXPECT_FALSE(failed);
}

TEST_P(DataplanePartsTest, TapPortStripsAndAddsTheVirtioNetHeader) {
  TapPair tap;
  TapPort port(*loop_, std::move(tap.ours), true, stack, actions, nullptr, [] {});
  port.start();
  std::vector<std::byte> req = arp_who_has_gateway();
  std::vector<std::byte> with_hdr(sizeof(VnetHeader));  // no offload flags
  with_hdr.insert(with_hdr.end(), req.begin(), req.end());
  ASSERT_GT(::send(tap.guest.get(), with_hdr.data(), with_hdr.size(), 0), 0);
  const std::byte short_frame[4] = {};  // shorter than the header: malformed
  ASSERT_GT(::send(tap.guest.get(), short_frame, sizeof short_frame, 0), 0);
  ASSERT_TRUE(run_until(*loop_, [&] { return port.backlog(); }));
  port.drain(now);
  EXPECT_EQ(stack.counters().drop_malformed, 1u);
  ASSERT_EQ(actions.to_tap.size(), 1u);
  port.write(now, actions.to_tap[0]);
  auto reply = tap.read_frame();
  ASSERT_GT(reply.size(), sizeof(VnetHeader));
  EXPECT_EQ(std::vector<std::byte>(reply.begin(), reply.begin() + sizeof(VnetHeader)),
            std::vector<std::byte>(sizeof(VnetHeader)));  // a plain frame: an all-zero header
  expect_arp_reply(std::span<const std::byte>(reply).subspan(sizeof(VnetHeader)), stack);
}

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return a;
}

// A UDP socket bound to 127.0.0.1 (any port); `port` receives the port.
UniqueFd udp_on_loopback(uint16_t* port) {
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in a = loopback(0);
  EXPECT_EQ(::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  EXPECT_EQ(::getsockname(s.get(), reinterpret_cast<sockaddr*>(&a), &len), 0);
  *port = ntohs(a.sin_port);
  return s;
}

TEST_P(DataplanePartsTest, PublishedUdpPortCarriesAClientAndListsItsFlow) {
  HostSockets sockets(*loop_, stack, actions, std::nullopt, std::nullopt);
  ASSERT_TRUE(sockets.init());
  PublishedPorts ports(*loop_, stack, actions, sockets);
  uint16_t server_port = 0, client_port = 0;
  PublishedPort p;
  p.socket = udp_on_loopback(&server_port);
  p.udp = true;
  p.guest_port = 5353;
  p.id = 7;
  ports.publish(std::move(p));
  UniqueFd client = udp_on_loopback(&client_port);
  sockaddr_in to = loopback(server_port);
  ASSERT_EQ(::sendto(client.get(), "hello", 5, 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 5);

  ASSERT_TRUE(run_until(*loop_, [&] { return ports.backlog(); }));
  ports.drain(now);
  // To the guest's port 5353, from the gateway (a loopback client).
  ASSERT_EQ(actions.to_tap.size(), 1u);
  auto eth = wire::EthernetView::parse(actions.to_tap[0].flat());
  ASSERT_TRUE(eth);
  EXPECT_EQ(ports.flows_json(), "[{\"id\":7,\"proto\":\"udp\",\"client\":\"127.0.0.1:" + std::to_string(client_port) +
                                    "\",\"guest_port\":5353}]");

  EXPECT_TRUE(ports.unpublish(7));
  EXPECT_FALSE(ports.unpublish(7));  // gone already
  EXPECT_FALSE(ports.unpublish(0));  // 0 names no port
  // The UDP engine ends the port's flows; the data plane passes that on.
  for (auto& op : actions.to_host)
    if (auto* c = std::get_if<CloseSocket>(&op)) ports.forget(c->flow);
  EXPECT_EQ(ports.flows_json(), "[]");
}

}  // namespace
}  // namespace netd::tap
