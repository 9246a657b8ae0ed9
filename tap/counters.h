// Counters of the tap stack: every frame that is dropped is counted under a
// reason, so "replaying garbage leaves netd running and counting drops" can be
// observed (SIGUSR1 logs them; they are logged at exit too).
#pragma once

#include <cstdint>
#include <string>

#include "tap/wire/types.h"

namespace netd::tap {

#define NETD_TAP_COUNTERS(X)                                                    \
  X(frames_in) X(frames_out) X(bytes_in) X(bytes_out)                           \
  X(drop_malformed) X(drop_bad_checksum) X(drop_unsupported) X(drop_fragment)   \
  X(drop_not_for_us) X(drop_policy)                                             \
  X(arp_replies) X(dhcp_offers) X(dhcp_acks) X(dhcp_naks) X(dhcp_ignored)       \
  X(icmp_echo_local) X(icmp_echo_forwarded) X(icmp_echo_replies)                \
  X(icmp_no_ping_socket) X(icmp_flow_limit)                                     \
  X(udp_flows_opened) X(udp_flows_expired) X(udp_flow_limit)                    \
  X(udp_to_host) X(udp_from_host) X(udp_port_unreachable)                       \
  X(udp_published_flows) X(udp_published_in) X(udp_published_out)               \
  X(udp_published_drops)                                                        \
  X(dns_queries) X(dns_replies) X(dns_servfail) X(dns_pending_limit)            \
  X(tcp_rst_sent) X(tcp_conns_opened) X(tcp_conns_closed) X(tcp_conn_limit)   \
  X(tcp_connect_failed) X(tcp_retransmits) X(tcp_out_of_order)                \
  X(tcp_connect_limit) X(tcp_buffer_limit) X(fd_exhausted)                    \
  X(tcp_bytes_to_host) X(tcp_bytes_from_host)                                 \
  X(ndp_advertisements) X(ndp_router_advertisements)                         \
  X(dhcpv6_replies) X(dhcpv6_ignored)                                         \
  X(tap_write_errors) X(host_socket_errors) X(host_send_drops)                 \
  X(udp_segmented_sends)                                                       \
  X(queue_handoffs) X(queue_handoff_drops)

struct Counters {
#define NETD_DECLARE_COUNTER(name) uint64_t name = 0;
  NETD_TAP_COUNTERS(NETD_DECLARE_COUNTER)
#undef NETD_DECLARE_COUNTER

  // Counts a parse failure under its reason (checksum vs. the rest).
  void count_wire_error(wire::WireError e);
  // Adds every counter of `o` (the queues of a multi-queue tap, summed).
  Counters& operator+=(const Counters& o);
  // {"frames_in":N,...}: every counter, for logs and the API.
  std::string to_json() const;
};

}  // namespace netd::tap
