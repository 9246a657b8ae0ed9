#include "tap/tcp_engine.h"

#include "tap/wire/builder.h"

namespace netd::tap {

void TcpEngine::on_guest_segment(Time, const wire::Ipv4View& ip, const wire::TcpView& tcp, Actions& out) {
  if (tcp.rst()) return;  // never answer a reset
  wire::TcpSegmentSpec s{};
  s.sport = tcp.dst_port();
  s.dport = tcp.src_port();
  if (tcp.ack_flag()) {
    // The segment acknowledged something: the reset takes its sequence
    // number from that acknowledgment.
    s.seq = tcp.ack();
    s.ack = wire::SeqNum(0);
    s.flags = wire::kTcpRst;
  } else {
    // Otherwise acknowledge everything it occupied (SYN and FIN count one).
    uint32_t len = static_cast<uint32_t>(tcp.payload().size()) + (tcp.syn() ? 1 : 0) + (tcp.fin() ? 1 : 0);
    s.seq = wire::SeqNum(0);
    s.ack = tcp.seq() + len;
    s.flags = wire::kTcpRst | wire::kTcpAck;
  }
  s.window = 0;
  wire::Ipv4Header h{.src = ip.dst(), .dst = ip.src(), .proto = wire::IpProto::Tcp};
  out.to_tap.push_back(wire::build_ipv4_tcp(ctx_.to_guest(), h, s, {}));
  ++ctx_.counters.tcp_rst_sent;
}

}  // namespace netd::tap
