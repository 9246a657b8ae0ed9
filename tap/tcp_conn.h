// One translated TCP connection: the guest's side of it as a TCP endpoint
// (sequence numbers, windows, state) and the two byte queues that bridge it
// to the host socket.
//
// States are netd's, as the guest's peer (RFC 793 names):
//   Connecting   guest SYN seen; the host socket's connect() is in flight
//   SynSent      a published port accepted a host connection; netd sent the
//                guest a SYN and waits for its SYN-ACK
//   SynReceived  host connected; SYN-ACK sent, waiting for the guest's ACK
//   Established  data both ways
//   CloseWait    guest sent FIN (host socket shut for writing once drained);
//                host data still flows to the guest
//   FinWait1     host sent EOF, netd sent FIN; guest data still flows
//   FinWait2     our FIN acknowledged; guest data still flows
//   Closing      both FINs sent, ours not yet acknowledged
//   LastAck      guest FIN first, then ours; waiting for its ACK
//   Closed       done; kept only until in-flight socket I/O has completed
// Every change goes through TcpEngine::set_state(), which can trace it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "common/time.h"
#include "dns/wire/query_check.h"
#include "tap/actions.h"
#include "tap/byte_ring.h"
#include "tap/flow_key.h"
#include "tap/icmp_errors.h"
#include "tap/wire/types.h"

namespace netd::tap {

enum class TcpState : uint8_t {
  Connecting,
  SynSent,
  SynReceived,
  Established,
  CloseWait,
  FinWait1,
  FinWait2,
  Closing,
  LastAck,
  Closed,
};
const char* to_string(TcpState s);

struct TcpConn {
  TcpConn(FlowId flow, const FlowKey& k, ChunkPool& pool) : id(flow), key(k), to_host(pool), from_host(pool) {}

  FlowId id;
  FlowKey key;
  TcpState state = TcpState::Connecting;

  // ---- guest -> host ----
  wire::SeqNum rcv_nxt;       // next guest sequence number expected
  ByteRing to_host;           // accepted from the guest, not yet written to the socket
  size_t send_len = 0;        // bytes of the TcpSend in flight (0: none)
  bool guest_fin = false;     // guest FIN accepted (counted in rcv_nxt)
  bool shutdown_sent = false; // SHUT_WR issued on the host socket
  uint32_t last_adv_window = 0;
  wire::SeqNum rcv_acked;     // the acknowledgment number of our last segment
  // One in-order data segment is not acknowledged yet: its ACK waits (up to
  // TcpEngine::kAckDelay) to ride on the answer (TcpEngine::acknowledge).
  bool ack_delayed = false;
  Time ack_due{};             // when that ACK goes out at the latest
  // Segments that arrived after a hole, sorted by sequence number, waiting
  // for it to be filled (TcpEngine::keep_early/take_early).
  struct EarlySegment {
    wire::SeqNum seq;
    std::vector<std::byte> data;
    bool fin = false;
  };
  std::vector<EarlySegment> early;
  size_t early_bytes = 0;
  // DNS over TCP to the DNS address: what the guest sends must continue a
  // stream of standard queries (dns/wire/query_check.h), else the connection
  // is reset. Unset for every other connection.
  std::optional<dns::wire::TcpQueryStream> dns_stream;

  // ---- host -> guest ----
  wire::SeqNum iss;           // our initial sequence number
  wire::SeqNum snd_una;       // oldest byte the guest has not acknowledged
  wire::SeqNum snd_nxt;       // next sequence number to send
  ByteRing from_host;         // bytes [snd_una, snd_una + size) read from the socket
  enum class Rx : uint8_t { Idle, Polling, Receiving } rx = Rx::Idle;
  bool host_eof = false;      // the socket returned EOF
  bool fin_sent = false;      // our FIN is in [snd_una, snd_nxt)
  uint32_t guest_window = 0;  // bytes the guest can take beyond snd_una
  uint8_t guest_wscale = 0;   // shift applied to the guest's window field
  uint8_t our_wscale = 0;     // shift the guest applies to ours (0 = no scaling)
  uint16_t mss = 536;         // largest payload we send to the guest
  int dupacks = 0;
  bool probing = false;       // a zero-window probe byte is outstanding

  // ---- timers ----
  bool connecting = false;    // TcpConnect in flight
  bool starved = false;       // waiting in TcpEngine::starved_ for a ring chunk
  bool memory_zero_window = false;  // the last window we advertised was 0 for want of memory
  Time rto_at{};              // retransmission (or persist / connect) deadline
  bool rto_armed = false;
  Duration rto{};
  int retries = 0;
  uint64_t timer_gen = 0;     // invalidates stale heap entries

  // The guest's SYN (IP header + 8 bytes), quoted in ICMP errors.
  ErrorQuote syn_quote;

  bool io_in_flight() const { return connecting || send_len > 0 || rx != Rx::Idle; }
};

}  // namespace netd::tap
