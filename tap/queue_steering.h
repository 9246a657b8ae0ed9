// Which queue of a multi-queue tap answers a frame.
//
// Theory of operation: with `netd attach --queues N` the tap has N queues,
// each read and written by its own thread with its own Stack
// (tap/queue_worker.h). The kernel picks the queue of each frame the guest
// sends (drivers/net/tun.c): from a flow table keyed by a symmetric hash of
// the flow, holding the queue whose fd last wrote a frame of that flow, and
// without an entry (none yet, or none written for about three seconds) by
// spreading the hash over the queues. So a flow the guest starts stays on
// the queue its first frame reached, since every reply is written there.
// Flows netd starts (a published port's connection, its first datagram to
// the guest) belong to queue 0, which owns the published ports; while
// their entry lives the guest's frames come back to queue 0, but after an
// idle pause a guest frame of such a flow may reach any queue.
//
// route_on_worker() decides, for a frame read on a queue other than 0,
// whether that queue's own Stack answers it (Local) or queue 0 must
// (Handoff): everything that is not unicast TCP or UDP (ARP, NDP, DHCP,
// ICMP: link state the published ports need, and rare), anything for the
// DNS address (the DNS forwarder lives on queue 0), and a TCP or UDP frame
// of a flow this queue does not know that cannot start a new one here: TCP
// other than a bare SYN, UDP from a published guest port. The rest is new
// or known guest-started traffic and stays. Pure: testable with fixed bytes.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <span>

#include "tap/flow_key.h"
#include "tap/stack_config.h"
#include "tap/wire/types.h"

namespace netd::tap {

// The guest ports published UDP ports lead to, shared by every queue: queue
// 0 adds and removes them, the others read them per frame (lock-free).
class PublishedGuestPorts {
 public:
  void add(uint16_t port) { refs_[port].fetch_add(1, std::memory_order_relaxed); }
  void remove(uint16_t port) { refs_[port].fetch_sub(1, std::memory_order_relaxed); }
  bool contains(uint16_t port) const { return refs_[port].load(std::memory_order_relaxed) != 0; }

 private:
  std::array<std::atomic<uint16_t>, 65536> refs_{};
};

enum class QueueRoute : uint8_t { Local, Handoff };

// `frame`: an Ethernet frame from the guest (without a virtio-net header).
// `knows`: whether this queue's Stack has a flow (Stack::knows_flow).
QueueRoute route_on_worker(std::span<const std::byte> frame, const StackConfig& cfg,
                           const PublishedGuestPorts& udp_ports,
                           const std::function<bool(wire::IpProto, const FlowKey&)>& knows);

}  // namespace netd::tap
