// Keys of the per-protocol flow tables (guest 4-tuple), hashable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>

#include "tap/wire/types.h"

namespace netd::tap {

// A guest-side endpoint pair: (guest address, guest port) -> (destination as
// the guest addressed it, destination port). For ICMP echo the "ports" are the
// echo identifier and 0. Both addresses are of one family; IPv4 and IPv6 flows
// live in the same tables.
struct FlowKey {
  wire::IpAddr guest_ip;
  uint16_t guest_port = 0;
  wire::IpAddr dst_ip;
  uint16_t dst_port = 0;
  bool operator==(const FlowKey&) const = default;
  wire::IpFamily family() const { return dst_ip.family(); }
};

struct FlowKeyHash {
  size_t operator()(const FlowKey& k) const {
    // Fold the 32 address bytes into 64 bits (IPv4 keys differ only in their
    // last 4 bytes of each, which land in different halves).
    uint64_t w[4];
    std::memcpy(&w[0], k.guest_ip.b.data(), 16);
    std::memcpy(&w[2], k.dst_ip.b.data(), 16);
    uint64_t a = w[0] ^ (w[1] * 0xff51afd7ed558ccdULL) ^ (w[2] << 1) ^ (w[3] * 0xc4ceb9fe1a85ec53ULL);
    uint64_t b = (uint64_t{k.guest_port} << 16) | k.dst_port;
    // splitmix64-style mixing: flows differ in few bits, spread them.
    uint64_t h = a ^ (b * 0x9e3779b97f4a7c15ULL);
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    return static_cast<size_t>(h);
  }
};

}  // namespace netd::tap
