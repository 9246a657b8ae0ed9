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
  // Published ports. An IPv6 client reaches the guest over IPv6 once netd
  // knows the guest's IPv6 address (learned from its DAD), unless `guest`
  // names an IPv4 address; everything else goes over IPv4. The guest sees each
  // client's own address, except for clients it could not route back to
  // (loopback, link-local, its own subnet, IPv6 clients carried over IPv4,
  // unknown ones: 0.0.0.0), which appear as the gateway of that family. In
  // the copied layout (pasta) the host's 127.0.0.1 / ::1 appears as the
  // loopback alias when there is one; the host itself otherwise (its
  // loopback, its own address) as the guest alias, else the gateway; every
  // other client keeps its address, the guest's subnet included.
  // `guest` is the IPv4 address inside the namespace the port leads to
  // (default: the guest address; an API forward's guest_addr).
  //
  // A published TCP port accepted a connection from client:client_port for
  // guest_port. Returns the flow for the accepted socket, or nullopt to refuse.
  std::optional<FlowId> on_tcp_inbound(Time now, const wire::IpAddr& client, uint16_t client_port,
                                       uint16_t guest_port, Actions& out,
                                       std::optional<wire::Ipv4Addr> guest = std::nullopt);
  // Published UDP socket `listener` received `data` from `peer` for
  // guest_port. Returns the flow (nullopt: dropped and counted); the guest's
  // replies come back as SendToPeer.
  std::optional<FlowId> on_udp_inbound(Time now, uint32_t listener, const HostPeer& peer, uint16_t guest_port,
                                       std::span<const std::byte> data, Actions& out,
                                       std::optional<wire::Ipv4Addr> guest = std::nullopt);
  // Published UDP socket `listener` is gone: its flows end.
  void on_udp_listener_closed(uint32_t listener, Actions& out) { udp_.forget_listener(listener, out); }
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
  // Where DNS over TCP to the DNS address goes from now on (the upstreams
  // changed); connections already made keep their host side.
  void set_dns_tcp_upstream(std::optional<wire::IpAddr> addr, uint16_t port) {
    ctx_.cfg.dns_tcp_upstream = addr;
    ctx_.cfg.dns_tcp_upstream_port = port;
  }
  size_t udp_flows() const { return udp_.flow_count(); }
  size_t icmp_flows() const { return icmp_.flow_count(); }
  size_t tcp_conns() const { return tcp_.conn_count(); }
  const TcpEngine& tcp() const { return tcp_; }
  // The TCP or UDP engine has a flow with this guest 4-tuple (a queue of a
  // multi-queue tap asks before handing a frame to queue 0: tap/queue_steering.h).
  bool knows_flow(wire::IpProto proto, const FlowKey& k) const {
    if (proto == wire::IpProto::Tcp) return tcp_.state_of(k).has_value();
    return proto == wire::IpProto::Udp && udp_.has_flow(k);
  }

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
  // How a published port's host client enters the guest: the source address
  // the guest sees and the guest address, always of one family.
  struct InboundPath {
    wire::IpAddr seen;
    wire::IpAddr guest;
  };
  InboundPath inbound_path(const wire::IpAddr& client, std::optional<wire::Ipv4Addr> guest) const;
  // The source address the guest sees for a published port's client.
  wire::Ipv4Addr seen_source4(wire::Ipv4Addr client) const;
  wire::Ipv6Addr seen_source6(const wire::Ipv6Addr& client) const;

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
