// IpAddress: an IPv4 or IPv6 address as the port forwarding code needs it:
// parsed from text (inet_pton), printed back, and turned into a sockaddr.
//
// Theory of operation: a plain value (family + 16 bytes, network order). It
// is what port specs, API requests and the forwarder exchange, so none of
// them touches sockaddr layouts or byte order directly.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace netd::portfwd {

struct IpAddress {
  int family = AF_INET;              // AF_INET or AF_INET6
  std::array<uint8_t, 16> bytes{};   // network order; IPv4 uses the first 4

  // "0.0.0.0", "127.0.0.1", "::", "::1", ... (no brackets, no zone ids).
  static std::optional<IpAddress> parse(std::string_view text);
  static IpAddress any4() { return IpAddress{}; }
  std::string to_string() const;
  bool is_unspecified() const;
  // Fills `out` with this address and `port`; returns the length to pass to bind/connect.
  socklen_t to_sockaddr(uint16_t port, sockaddr_storage& out) const;
  // The address and port of a sockaddr (AF_INET/AF_INET6 only).
  static std::optional<IpAddress> from_sockaddr(const sockaddr* sa, uint16_t* port);

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

}  // namespace netd::portfwd
