// TapPort: the data plane's end of the tap device.
//
// Theory of operation: the tap fd is read and written with plain
// non-blocking system calls, driven by a multishot readiness poll on the
// event loop. tun files cannot take io_uring's non-blocking attempts, so
// ring reads and writes on them would be handed to kernel worker threads,
// a thread wake-up (tens of microseconds) per frame; sockets stay on the
// loop. A readiness completion only marks the tap readable (backlog()); the
// data plane drains it once per loop round, up to kBatch frames, after the
// round's completions: a flood posts a readiness completion per frame, and
// draining a batch for each of them held megabytes of actions in one round.
// Each frame loses its virtio-net header (the offload flags say whether its
// checksum is ours to check), goes to the pcap file, and then to
// Stack::on_frame. Frames for the guest leave with one writev each: the
// virtio-net header, the frame's own bytes, and its payload from where the
// engine keeps it (Frame::tail), without a copy.
#pragma once

#include <functional>
#include <vector>

#include "common/event_loop.h"
#include "common/log.h"
#include "common/unique_fd.h"
#include "tap/actions.h"
#include "tap/pcap_writer.h"
#include "tap/stack.h"

namespace netd::tap {

class TapPort final : public loop::Handler {
 public:
  // Frames read per drain() before other work gets a turn.
  static constexpr int kBatch = 64;
  // One maximal IP packet plus Ethernet and virtio-net headers, rounded up.
  static constexpr uint32_t kFrameMax = 65536 + 256;

  // `vnet_hdr`: the tap was opened with IFF_VNET_HDR (offloads). `pcap` may
  // be null. `on_failure` is called once the tap itself failed (deleted
  // under us): nothing more can flow.
  TapPort(loop::EventLoop& loop, UniqueFd tap, bool vnet_hdr, Stack& stack, Actions& actions, PcapWriter* pcap,
          std::function<void()> on_failure);
  // Makes the fd non-blocking and arms the readiness poll.
  void start();
  // The tap may have frames to read (its poll fired, or the last drain
  // stopped at kBatch).
  bool backlog() const { return backlog_; }
  // Reads frames until the tap is empty or kBatch were handled.
  void drain(Time now);
  // Writes one frame for the guest; a failure is counted (and logged, rarely).
  void write(Time now, const Frame& frame);
  void on_completion(Time now, const loop::Completion& c) override;
  // A frame read from the tap goes to `divert` first (a queue of a
  // multi-queue tap hands some frames to queue 0: tap/queue_worker.h); it
  // returns true when it took the frame, which then skips the Stack.
  using Divert = std::function<bool(std::span<const std::byte> frame, bool offloaded)>;
  void set_divert(Divert divert) { divert_ = std::move(divert); }

 private:
  enum class Op : uint8_t { Readable };
  void arm();
  void on_frame(Time now, std::span<const std::byte> frame);
  void fail(const char* what, int err);

  UniqueFd fd_;
  bool vnet_hdr_;
  Stack& stack_;
  Actions& actions_;
  PcapWriter* pcap_;
  std::function<void()> on_failure_;
  Divert divert_;
  bool backlog_ = false;
  bool failed_ = false;
  std::vector<std::byte> buf_ = std::vector<std::byte>(kFrameMax);
  log::RateLimit write_error_log_{seconds(10), 3};
};

}  // namespace netd::tap
