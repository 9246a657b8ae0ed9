// Fuzz target: which queue of a multi-queue tap answers a guest frame
// (tap/queue_steering.h). Each input is split into frames (2-byte
// big-endian length prefixes); each is routed as a worker queue would
// route it, then fed to that queue's Stack when it stays (so later frames
// meet flows it knows), with published UDP guest ports the input picks.
// Must never crash, hang or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <span>

#include "tap/queue_steering.h"
#include "tap/stack.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace netd;
  static const tap::StackConfig cfg = *tap::StackConfig::from_cidr("10.0.2.0/24");
  static tap::PublishedGuestPorts ports;  // (128 KiB: made once, emptied after each input)
  tap::Stack stack(cfg);
  tap::Actions out;
  Time now{seconds(1)};
  auto knows = [&](wire::IpProto p, const tap::FlowKey& k) { return stack.knows_flow(p, k); };
  std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
  uint16_t added[64];
  int n_added = 0;
  for (int frames = 0; in.size() >= 2 && frames < 64; ++frames) {
    size_t len = (std::to_integer<size_t>(in[0]) << 8) | std::to_integer<size_t>(in[1]);
    in = in.subspan(2);
    if (len > in.size()) len = in.size();
    auto frame = in.first(len);
    in = in.subspan(len);
    if (len == 2) {  // a 2-byte frame publishes that UDP guest port instead
      auto port = static_cast<uint16_t>((std::to_integer<unsigned>(frame[0]) << 8) |
                                        std::to_integer<unsigned>(frame[1]));
      ports.add(port);
      added[n_added++] = port;
      continue;
    }
    if (tap::route_on_worker(frame, cfg, ports, knows) == tap::QueueRoute::Local) stack.on_frame(now, frame, out);
    out.clear();
    now += milliseconds(10);
  }
  for (int i = 0; i < n_added; ++i) ports.remove(added[i]);
  return 0;
}
