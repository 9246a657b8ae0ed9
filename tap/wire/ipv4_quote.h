// The piece of an offending datagram that an ICMP error carries back.
//
// Theory of operation: RFC 792 asks for the original IP header plus the first
// 64 bits of its payload (RFC 1812 allows more; we send the classic minimum so
// the error never grows with the packet). The quote is taken from a parsed
// view, so it is bounded by the packet's total length; a packet with fewer
// than 8 payload bytes is quoted whole.
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>

#include "tap/wire/ipv4.h"

namespace netd::wire {

constexpr size_t kIcmpQuotePayloadBytes = 8;

// Returns header (with options) + up to 8 payload bytes of `original`.
inline std::span<const std::byte> icmp_error_quote(const Ipv4View& original) {
  std::span<const std::byte> p = original.packet();
  return p.first(std::min(p.size(), original.header_length() + kIcmpQuotePayloadBytes));
}

}  // namespace netd::wire
