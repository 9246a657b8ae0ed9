// Fuzz target: `netd attach`'s Stack driven from both sides at once. The
// input is a script of steps; each step is one opcode byte and its operands:
//
//   0 FRAME  len:u16 bytes   a guest frame (bit 7 of the opcode: offloaded)
//   1 TIME   ms/20:u8        the clock advances, timers run
//   2 ANSWER pick:u8 res:u8  one pending host request completes (which one,
//                            and success/EOF/error, from the operands; data
//                            for receives and datagrams comes from the input)
//   3 INBOUND port:u16       a published port accepts a client connection
//   4 REPLY  flags:u8 len:u8 bytes   the guest answers the last TCP segment
//                            netd sent it (addresses, ports, seq/ack mirrored,
//                            so connections get past the handshake)
//
// Host requests are answered as the real loop does: each exactly once, in any
// order; closing a TCP socket completes its outstanding requests with
// ECANCELED; a closed UDP/ping socket delivers nothing more. fuzz_stack feeds
// frames alone; this target reaches the TCP states behind the host connect
// (data both ways, windows, retransmission, FIN/RST, inbound connections).
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "tap/stack.h"
#include "tap/wire/builder.h"
#include "tap/wire/ethernet.h"
#include "tap/wire/ipv4.h"
#include "tap/wire/tcp.h"

namespace {

using namespace netd;
using namespace netd::tap;

struct Input {
  std::span<const std::byte> b;
  uint8_t u8() {
    if (b.empty()) return 0;
    uint8_t v = std::to_integer<uint8_t>(b[0]);
    b = b.subspan(1);
    return v;
  }
  uint16_t u16() { return static_cast<uint16_t>((u8() << 8) | u8()); }
  std::span<const std::byte> take(size_t n) {
    n = std::min(n, b.size());
    auto out = b.first(n);
    b = b.subspan(n);
    return out;
  }
};

FlowId flow_of(const HostOp& op) {
  return std::visit([](const auto& o) -> FlowId {
    if constexpr (requires { o.flow; }) return o.flow;
    else return 0;
  }, op);
}

struct Driver {
  StackConfig cfg = *StackConfig::from_cidr("10.0.2.0/24");
  Stack stack{cfg};
  Actions out;
  Time now{seconds(1)};
  std::vector<HostOp> pending;     // requests still waiting for their answer
  std::optional<std::vector<std::byte>> last_tcp_to_guest;

  // Moves what the stack asked for into `pending`, the way the loop would.
  void collect() {
    for (auto& f : out.to_tap) {
      auto eth = wire::EthernetView::parse(f);
      if (!eth) continue;
      auto ip = wire::Ipv4View::parse(eth->payload());
      if (ip && ip->protocol() == wire::IpProto::Tcp) last_tcp_to_guest = f;
    }
    auto ops = std::move(out.to_host);
    out.clear();
    for (auto& op : ops) {
      if (auto* c = std::get_if<CloseSocket>(&op)) {
        // TCP: whatever is outstanding completes, cancelled.
        std::vector<HostOp> rest;
        for (auto& p : pending) {
          if (flow_of(p) == c->flow && !std::holds_alternative<ForwardDns>(p)) {
            if (std::holds_alternative<TcpConnect>(p)) stack.on_tcp_connected(now, c->flow, -ECANCELED, out);
            else if (std::holds_alternative<TcpPoll>(p)) stack.on_tcp_readable(now, c->flow, -ECANCELED, out);
            else if (std::holds_alternative<TcpRecv>(p)) stack.on_tcp_received(now, c->flow, -ECANCELED, out);
            else if (std::holds_alternative<TcpSend>(p)) stack.on_tcp_sent(now, c->flow, -ECANCELED, out);
          } else {
            rest.push_back(std::move(p));
          }
        }
        pending = std::move(rest);
        continue;
      }
      if (std::holds_alternative<SendOnSocket>(op) || std::holds_alternative<TcpShutdown>(op)) continue;
      pending.push_back(std::move(op));
    }
  }

  void answer(Input& in) {
    if (pending.empty()) return;
    size_t i = in.u8() % pending.size();
    HostOp op = std::move(pending[i]);
    pending.erase(pending.begin() + static_cast<ptrdiff_t>(i));
    uint8_t res = in.u8();
    bool fail = res % 8 == 7;
    int err = (res & 0x40) ? -ECONNRESET : -ECONNREFUSED;
    if (auto* o = std::get_if<TcpConnect>(&op)) {
      stack.on_tcp_connected(now, o->flow, fail ? err : 0, out);
    } else if (auto* p = std::get_if<TcpPoll>(&op)) {
      stack.on_tcp_readable(now, p->flow, fail ? err : 0, out);
    } else if (auto* r = std::get_if<TcpRecv>(&op)) {
      if (fail) return stack.on_tcp_received(now, r->flow, err, out);
      size_t n = std::min<size_t>(r->into.size(), static_cast<size_t>(res) * 97);  // 0: EOF
      auto data = in.take(n);
      if (!data.empty()) std::memcpy(r->into.data(), data.data(), data.size());
      stack.on_tcp_received(now, r->flow, static_cast<int>(n), out);
    } else if (auto* s = std::get_if<TcpSend>(&op)) {
      size_t n = std::min<size_t>(s->data.size(), static_cast<size_t>(res) * 211 + 1);
      stack.on_tcp_sent(now, s->flow, fail ? err : static_cast<int>(n), out);
    } else if (auto* o2 = std::get_if<OpenSocket>(&op)) {
      // A datagram socket: one answer now, and it stays open for more.
      if (fail) stack.on_socket_error(now, o2->kind, o2->flow, -err, out);
      else stack.on_socket_data(now, o2->kind, o2->flow, in.take(res), out);
      pending.push_back(std::move(op));
    } else if (auto* d = std::get_if<ForwardDns>(&op)) {
      if (fail) {
        stack.on_dns_reply(now, d->token, unexpected(-1), out);
      } else {
        auto bytes = in.take(res);
        stack.on_dns_reply(now, d->token, std::vector<std::byte>(bytes.begin(), bytes.end()), out);
      }
    }
  }

  // The guest's answer to the last TCP segment it got: mirrored addresses
  // and ports, seq = their ack, ack = their seq + length (+1 for SYN/FIN).
  void reply(Input& in) {
    uint8_t flags = in.u8();
    auto payload = in.take(in.u8());
    if (!last_tcp_to_guest) return;
    auto eth = wire::EthernetView::parse(*last_tcp_to_guest);
    if (!eth) return;
    auto ip = wire::Ipv4View::parse(eth->payload());
    if (!ip) return;
    auto tcp = wire::TcpView::parse_checksum_offloaded(ip->payload());
    if (!tcp) return;
    wire::TcpSegmentSpec s{};
    s.sport = tcp->dst_port();
    s.dport = tcp->src_port();
    s.seq = tcp->ack();
    s.ack = tcp->seq() + static_cast<uint32_t>(tcp->payload().size() + (tcp->syn() ? 1 : 0) + (tcp->fin() ? 1 : 0));
    s.flags = static_cast<uint8_t>(flags | wire::kTcpAck);
    s.window = 65535;
    if (s.flags & wire::kTcpSyn) s.mss = 1460;
    wire::Ipv4Header h{.src = ip->dst(), .dst = ip->src(), .proto = wire::IpProto::Tcp};
    auto frame = wire::build_ipv4_tcp({eth->dst(), eth->src()}, h, s, payload);
    stack.on_frame(now, frame, out);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in{std::span<const std::byte>(reinterpret_cast<const std::byte*>(data), size)};
  Driver d;
  for (int step = 0; step < 512 && !in.b.empty(); ++step) {
    uint8_t op = in.u8();
    switch (op & 0x7f) {
      case 0: {
        auto frame = in.take(in.u16() % 4096);
        d.stack.on_frame(d.now, frame, d.out, (op & 0x80) != 0);
        break;
      }
      case 1:
        d.now += milliseconds(20 * in.u8());
        d.stack.on_timer(d.now, d.out);
        break;
      case 2: d.answer(in); break;
      case 3: {
        uint16_t port = in.u16();
        wire::Ipv4Addr client{0xC6336402u + (port & 3)};  // 198.51.100.2..5
        auto flow = d.stack.on_tcp_inbound(d.now, client, static_cast<uint16_t>(40000 + (port >> 8)), port, d.out);
        (void)flow;  // the accepted socket then reads/writes like any TCP flow
        break;
      }
      case 4: d.reply(in); break;
      default: break;
    }
    d.collect();
  }
  return 0;
}
