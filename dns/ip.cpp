#include "dns/ip.h"

#include <arpa/inet.h>

#include <cstring>

namespace netd::dns {

std::optional<IpAddr> IpAddr::parse(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  std::string s(text);
  IpAddr a;
  if (s.find(':') == std::string::npos) {
    if (inet_pton(AF_INET, s.c_str(), a.b.data()) != 1) return std::nullopt;
    return a;
  }
  a.v6 = true;
  if (inet_pton(AF_INET6, s.c_str(), a.b.data()) != 1) return std::nullopt;
  return a;
}

IpAddr IpAddr::v4_from(const std::array<uint8_t, 4>& x) {
  IpAddr a;
  std::memcpy(a.b.data(), x.data(), 4);
  return a;
}

std::string IpAddr::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, b.data(), buf, sizeof buf);
  return buf;
}

std::string IpAddr::reverse_name() const {
  std::string out;
  if (!v6) {
    for (int i = 3; i >= 0; --i) out += std::to_string(b[static_cast<size_t>(i)]) + ".";
    return out + "in-addr.arpa";
  }
  static constexpr char hex[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i) {
    out += hex[b[static_cast<size_t>(i)] & 0xF];
    out += '.';
    out += hex[b[static_cast<size_t>(i)] >> 4];
    out += '.';
  }
  return out + "ip6.arpa";
}

std::optional<IpAddr> IpAddr::from_reverse_name(std::string_view n) {
  constexpr std::string_view v4s = ".in-addr.arpa", v6s = ".ip6.arpa";
  if (n.size() > v4s.size() && n.substr(n.size() - v4s.size()) == v4s) {
    n.remove_suffix(v4s.size());
    std::array<uint8_t, 4> parts{};
    int count = 0;
    while (!n.empty()) {
      if (count == 4) return std::nullopt;
      auto dot = n.find('.');
      std::string_view lab = n.substr(0, dot);
      if (lab.empty() || lab.size() > 3 || (lab.size() > 1 && lab[0] == '0')) return std::nullopt;
      unsigned v = 0;
      for (char c : lab) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<unsigned>(c - '0');
      }
      if (v > 255) return std::nullopt;
      parts[static_cast<size_t>(3 - count)] = static_cast<uint8_t>(v);
      ++count;
      n = dot == std::string_view::npos ? std::string_view{} : n.substr(dot + 1);
    }
    if (count != 4) return std::nullopt;
    return v4_from(parts);
  }
  if (n.size() == 64 + v6s.size() - 1 && n.substr(n.size() - v6s.size()) == v6s) {
    IpAddr a;
    a.v6 = true;
    for (int i = 0; i < 32; ++i) {
      char c = n[static_cast<size_t>(2 * i)];
      if (n[static_cast<size_t>(2 * i + 1)] != '.') return std::nullopt;
      int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
      if (v < 0) return std::nullopt;
      size_t byte = static_cast<size_t>(15 - i / 2);
      if (i % 2 == 0)
        a.b[byte] = static_cast<uint8_t>(a.b[byte] | v);
      else
        a.b[byte] = static_cast<uint8_t>(a.b[byte] | (v << 4));
    }
    return a;
  }
  return std::nullopt;
}

IpAddr IpAddr::unmapped() const {
  static constexpr uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (!v6 || std::memcmp(b.data(), prefix, 12) != 0) return *this;
  return v4_from({b[12], b[13], b[14], b[15]});
}

}  // namespace netd::dns
