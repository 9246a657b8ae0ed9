// Guest datagrams of one flow that arrive together leave together: one
// sendmsg with UDP_SEGMENT (UDP generic segmentation offload, Linux 4.18)
// carries up to kMaxSegments of them through the host's IP stack as one
// packet, which the kernel cuts into the original datagrams at the last
// moment (or the receiving socket does, on loopback).
//
// Theory of operation: the loop collects the SendOnSocket requests of one
// flow that follow each other in a batch (a burst the guest wrote while the
// loop was busy) and asks segment_run() how many of the leading ones one
// segmented send can carry: datagrams of one size, the last one possibly
// shorter (the kernel's rule), at most kMaxSegments and one IP packet's worth
// of payload. send_segmented() sends them with one system call; the receiver
// sees exactly the datagrams the guest wrote, in order. A path that cannot
// take it (a gso_size above the route's MTU, a device without checksum
// offload) answers EINVAL/EIO/EMSGSIZE, and the loop falls back to one send
// per datagram for that socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace netd::tap {

// The kernel's UDP_MAX_SEGMENTS was 64 before Linux 6.9 (128 since).
constexpr size_t kMaxGsoSegments = 64;
// UDP payload of one IPv4 packet: 65535 - 20 (IPv4) - 8 (UDP).
constexpr size_t kMaxGsoBytes = 65507;

// How many of the leading `sizes` one segmented send can carry (0 for an
// empty list; 1 when the first cannot be combined with the next).
size_t segment_run(std::span<const size_t> sizes);

// Sends `datagrams` (as segment_run() allowed) on connected UDP socket `fd`
// with one sendmsg carrying UDP_SEGMENT, non-blocking. Returns 0 or an errno
// value (EAGAIN/ENOBUFS: the socket's buffer is full; nothing was sent).
int send_segmented(int fd, std::span<const std::span<const std::byte>> datagrams);

}  // namespace netd::tap
