// The virtio-net header a tap opened with IFF_VNET_HDR puts before every frame
// (struct virtio_net_hdr of <linux/virtio_net.h>, which C++ cannot include:
// one of its structs has a member named `class`). The layout is kernel ABI.
// Fields are in native byte order (tun without TUNSETVNETLE/BE on x86).
#pragma once

#include <cstdint>

namespace netd::tap {

struct VnetHeader {
  uint8_t flags = 0;
  uint8_t gso_type = 0;
  uint16_t hdr_len = 0;      // Ethernet + IP + TCP header bytes of a GSO frame
  uint16_t gso_size = 0;     // segment payload size of a GSO frame
  uint16_t csum_start = 0;   // NEEDS_CSUM: where checksumming starts
  uint16_t csum_offset = 0;  // NEEDS_CSUM: where the checksum goes, from csum_start
};
static_assert(sizeof(VnetHeader) == 10, "virtio_net_hdr is 10 bytes");

constexpr uint8_t kVnetNeedsCsum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
constexpr uint8_t kVnetDataValid = 2;  // VIRTIO_NET_HDR_F_DATA_VALID
constexpr uint8_t kVnetGsoTcpv4 = 1;   // VIRTIO_NET_HDR_GSO_TCPV4
constexpr uint8_t kVnetGsoTcpv6 = 4;   // VIRTIO_NET_HDR_GSO_TCPV6

}  // namespace netd::tap
