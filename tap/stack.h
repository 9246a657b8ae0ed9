// Stack: the per-namespace protocol dispatcher of `netd attach`.
//
// Theory of operation: the loop hands every frame read from the tap to
// on_frame(). The Stack parses it through the checked wire views (Ethernet ->
// ARP | IPv4 -> ICMP | UDP (DHCP, DNS, other) | TCP; IPv6 -> NDP | DHCPv6 |
// ICMPv6 echo | UDP (DNS, other) | TCP), drops and counts what is malformed,
// not for us, or not permitted, and passes the parsed packet to the one
// engine that owns it. Both families reach the same ICMP, UDP, DNS and TCP
// engines as an IpView; only ARP/DHCP (IPv4) and NDP/DHCPv6 (IPv6) are
// per family. Engines answer with Actions; results from host
// sockets come back through the on_* methods. The Stack does no I/O and reads
// no clock: the loop passes `now`. This makes the whole frame path testable
// with fixed bytes and fuzzable (tests/fuzz/fuzz_stack.cpp).
#pragma once

#include <optional>
#include <span>

#include "common/expected.h"
#include "common/time.h"
#include "tap/actions.h"
#include "tap/arp_responder.h"
#include "tap/dhcp_server.h"
#include "tap/dhcpv6_server.h"
#include "tap/dns_relay.h"
#include "tap/engine_context.h"
#include "tap/icmp_engine.h"
#include "tap/ndp_responder.h"
#include "tap/tcp_engine.h"
#include "tap/udp_engine.h"
#include "tap/wire/ethernet.h"
#include "tap/wire/ip.h"
#include "tap/wire/udp.h"

namespace netd::tap {

class Stack {
 public:
  explicit Stack(const StackConfig& cfg);

  // One Ethernet frame from the guest. `l4_csum_offloaded`: the tap said the
  // TCP/UDP checksum is partial or already verified (virtio-net header), so it
  // is not checked again.
  void on_frame(Time now, std::span<const std::byte> frame, Actions& out, bool l4_csum_offloaded = false);

  // Results from host sockets, by the FlowId the engines chose.
  void on_socket_data(Time now, SocketKind kind, FlowId flow, std::span<const std::byte> data, Actions& out);
  void on_socket_error(Time now, SocketKind kind, FlowId flow, int err, Actions& out);
  void on_dns_reply(Time now, uint64_t token, const Expected<std::vector<std::byte>, int>& reply,
                    Actions& out);
  // A published TCP port accepted a connection from client:client_port for
  // guest_port. The guest sees the client's address, except for clients it
  // could not route back to (loopback, its own subnet), which appear as the
  // gateway. Returns the flow for the accepted socket, or nullopt to refuse.
  std::optional<FlowId> on_tcp_inbound(Time now, const wire::IpAddr& client, uint16_t client_port,
                                       uint16_t guest_port, Actions& out);
  // TCP socket results (see TcpEngine); values are -errno on failure.
  void on_tcp_connected(Time now, FlowId flow, int err, Actions& out) {
    tcp_.on_connected(now, flow, err, out);
    tcp_.feed_starved(out);
  }
  void on_tcp_readable(Time now, FlowId flow, int err, Actions& out) {
    tcp_.on_readable(now, flow, err, out);
    tcp_.feed_starved(out);
  }
  void on_tcp_received(Time now, FlowId flow, int res, Actions& out) {
    tcp_.on_received(now, flow, res, out);
    tcp_.feed_starved(out);
  }
  void on_tcp_sent(Time now, FlowId flow, int res, Actions& out) {
    tcp_.on_sent(now, flow, res, out);
    tcp_.feed_starved(out);
  }

  // The earliest time on_timer() has work to do, if any.
  std::optional<Time> next_deadline() const;
  void on_timer(Time now, Actions& out);

  const Counters& counters() const { return ctx_.counters; }
  Counters& counters() { return ctx_.counters; }
  const StackConfig& config() const { return ctx_.cfg; }
  size_t udp_flows() const { return udp_.flow_count(); }
  size_t icmp_flows() const { return icmp_.flow_count(); }
  size_t tcp_conns() const { return tcp_.conn_count(); }
  const TcpEngine& tcp() const { return tcp_; }

 private:
  void on_ipv4(Time now, const wire::EthernetView& eth, std::span<const std::byte> packet, bool offloaded,
               Actions& out);
  void on_ipv6(Time now, const wire::EthernetView& eth, bool offloaded, Actions& out);
  // The family-independent part: ICMP/ICMPv6 echo, UDP, TCP.
  void on_ip(Time now, const wire::IpView& ip, bool offloaded, Actions& out);
  void on_udp(Time now, const wire::IpView& ip, const wire::UdpView& udp, Actions& out);
  void on_udp_v4_broadcast(const wire::Ipv4View& ip, bool offloaded, Actions& out);
  void on_dhcp(const wire::IpAddr& src, const wire::UdpView& udp, Actions& out);
  // Parses the UDP or TCP segment of `ip` (checksum unless offloaded); counts
  // and returns nullopt on failure.
  template <class View>
  std::optional<View> parse_l4(const wire::IpView& ip, bool offloaded);

  EngineContext ctx_;
  FlowId next_flow_ = 1;
  ArpResponder arp_;
  DhcpServer dhcp_;
  NdpResponder ndp_;
  Dhcpv6Server dhcp6_;
  IcmpEngine icmp_;
  UdpEngine udp_;
  DnsRelay dns_;
  TcpEngine tcp_;
};

}  // namespace netd::tap
