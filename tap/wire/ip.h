// IpView: one parsed IP packet of either family, for the engines that treat
// IPv4 and IPv6 alike (UDP, TCP, ICMP echo, the DNS relay).
//
// Theory of operation: the Stack parses a packet through Ipv4View or Ipv6View
// (which do every check and every byte-order conversion) and hands the
// engines an IpView built from it. An IpView holds the few values the
// engines need, already decoded: addresses as IpAddr, the upper-layer
// protocol, where the upper layer starts and the bounded packet span. It can
// seed the L4 checksum with the right pseudo-header and cut the quote that an
// ICMP/ICMPv6 error carries back: the IP header (with options or extension
// headers) plus the first 8 bytes of the upper layer (RFC 792; RFC 4443
// allows more, but the classic minimum keeps an error from growing with the
// packet and already holds the ports a receiver matches on).
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>

#include "tap/wire/checksum.h"
#include "tap/wire/ipv4.h"
#include "tap/wire/ipv6.h"
#include "tap/wire/types.h"

namespace netd::wire {

constexpr size_t kIcmpQuotePayloadBytes = 8;

class IpView {
 public:
  IpView(const Ipv4View& v)  // NOLINT: implicit, engines take either view
      : src_(v.src()), dst_(v.dst()), packet_(v.packet()), header_len_(v.header_length()),
        proto_(v.protocol()), hop_limit_(v.ttl()) {}
  IpView(const Ipv6View& v)  // NOLINT: likewise
      : src_(v.src()), dst_(v.dst()), packet_(v.packet()), header_len_(v.header_length()),
        proto_(v.protocol()), hop_limit_(v.hop_limit()) {}

  IpFamily family() const { return src_.family(); }
  bool is_v6() const { return family() == IpFamily::V6; }
  const IpAddr& src() const { return src_; }
  const IpAddr& dst() const { return dst_; }
  IpProto protocol() const { return proto_; }
  uint8_t hop_limit() const { return hop_limit_; }
  size_t header_length() const { return header_len_; }
  std::span<const std::byte> packet() const { return packet_; }
  std::span<const std::byte> payload() const { return packet_.subspan(header_len_); }
  // A Checksum fed with this packet's pseudo-header for protocol `p` over
  // the whole payload, ready for UdpView/TcpView/IcmpView::parse.
  Checksum pseudo_header(IpProto p) const {
    return ip_pseudo_header(src_, dst_, p, static_cast<uint32_t>(payload().size()));
  }

 private:
  IpAddr src_, dst_;
  std::span<const std::byte> packet_;
  size_t header_len_;
  IpProto proto_;
  uint8_t hop_limit_;
};

// Header(s) + up to 8 upper-layer bytes of `original`, for ICMP errors about
// it; a packet with fewer upper-layer bytes is quoted whole.
inline std::span<const std::byte> icmp_error_quote(const IpView& original) {
  std::span<const std::byte> p = original.packet();
  return p.first(std::min(p.size(), original.header_length() + kIcmpQuotePayloadBytes));
}

}  // namespace netd::wire
