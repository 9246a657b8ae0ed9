// Keys of the per-protocol flow tables (guest 4-tuple), hashable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include "tap/wire/types.h"

namespace netd::tap {

// A guest-side endpoint pair: (guest address, guest port) -> (destination as
// the guest addressed it, destination port). For ICMP echo the "ports" are the
// echo identifier and 0.
struct FlowKey {
  wire::Ipv4Addr guest_ip;
  uint16_t guest_port = 0;
  wire::Ipv4Addr dst_ip;
  uint16_t dst_port = 0;
  bool operator==(const FlowKey&) const = default;
};

struct FlowKeyHash {
  size_t operator()(const FlowKey& k) const {
    uint64_t a = (uint64_t{k.guest_ip.v} << 32) | k.dst_ip.v;
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
