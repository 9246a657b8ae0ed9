// parse_decimal: the one parser of decimal numbers in option values, port
// specs, prefix lengths and address octets.
//
// Theory of operation: std::from_chars does the arithmetic and the overflow
// check; this wrapper adds the two rules every caller wants and from_chars
// does not give: the whole text must be consumed (so "80x" is not 80), and
// only digits are accepted (no sign, no spaces, no "0x"). Range checks stay
// with the caller's wording, via the optional bounds.
#pragma once

#include <charconv>
#include <concepts>
#include <limits>
#include <optional>
#include <string_view>

namespace netd {

template <std::unsigned_integral T>
std::optional<T> parse_decimal(std::string_view s, T min = 0, T max = std::numeric_limits<T>::max()) {
  if (s.empty() || s[0] < '0' || s[0] > '9') return std::nullopt;  // no sign, no leading space
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || v < min || v > max) return std::nullopt;
  return v;
}

}  // namespace netd
