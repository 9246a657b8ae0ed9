// Fuzz target: the whole guest frame path of `netd attach`. Each input is
// split into frames (2-byte big-endian length prefixes) and fed to one Stack
// in order, with the clock advancing, so multi-frame states (flows, DHCP,
// DNS relay) are reached too; host-side callbacks are answered with the
// input's own bytes, and some frames also arrive as datagrams on a published
// UDP port. The Stack must never crash, hang or read out of bounds.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "tap/stack.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace netd;
  static const tap::StackConfig cfg = *tap::StackConfig::from_cidr("10.0.2.0/24");
  tap::Stack stack(cfg);
  tap::Actions out;
  Time now{seconds(1)};
  std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
  for (int frames = 0; in.size() >= 2 && frames < 64; ++frames) {
    size_t len = (std::to_integer<size_t>(in[0]) << 8) | std::to_integer<size_t>(in[1]);
    in = in.subspan(2);
    if (len > in.size()) len = in.size();
    auto frame = in.first(len);
    in = in.subspan(len);
    stack.on_frame(now, frame, out);
    if (frame.size() >= 3 && (std::to_integer<uint8_t>(frame[0]) & 1)) {
      // The same bytes as a datagram from a client of a published UDP port,
      // from an address and port the input picks.
      tap::HostPeer peer;
      std::array<uint8_t, 16> a{};
      a[0] = std::to_integer<uint8_t>(frame[1]);
      peer.addr = (std::to_integer<uint8_t>(frame[0]) & 2) ? wire::IpAddr(wire::Ipv6Addr{a})
                                                           : wire::IpAddr(wire::Ipv4Addr{uint32_t{a[0]} << 24});
      peer.port = std::to_integer<uint16_t>(frame[2]);
      stack.on_udp_inbound(now, 0, peer, 53, frame, out);
    }
    // Answer every host request with the same bytes, as a hostile peer might.
    for (auto& op : out.to_host) {
      if (auto* o = std::get_if<tap::OpenSocket>(&op)) {
        stack.on_socket_data(now, o->kind, o->flow, frame, out);
      } else if (auto* d = std::get_if<tap::ForwardDns>(&op)) {
        std::vector<std::byte> reply(frame.begin(), frame.end());
        stack.on_dns_reply(now, d->token, reply, out);
      }
    }
    out.clear();
    now += milliseconds(700);
    stack.on_timer(now, out);
    out.clear();
  }
  return 0;
}
