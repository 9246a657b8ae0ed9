#include "portfwd/fwd_rule.h"

#include <algorithm>
#include <cstring>

namespace netd::portfwd {

namespace {

// pasta's rule for matching addresses: a wildcard (nullptr) matches
// everything; an unspecified address matches every address of its family;
// otherwise the addresses must be equal.
bool addresses_match(const net::IpAddr* a, const net::IpAddr* b) {
  if (!a || !b) return true;
  if (a->is_unspecified() || b->is_unspecified()) return a->is_v4() == b->is_v4();
  return *a == *b;
}

const net::IpAddr* listen_address(const FwdRule& r) { return r.any_address ? nullptr : &r.addr; }

bool is_multicast_or_broadcast(const net::IpAddr& a) {
  return a.is_multicast() || (a.is_v4() && a.v4().is_broadcast());
}

// The rule for messages: to_string() without its trailing blanks.
std::string brief(const FwdRule& r) {
  std::string s = r.to_string();
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

const char* family_name(const net::IpAddr& a) { return a.is_v4() ? "IPv4" : "IPv6"; }

}  // namespace

bool FwdRule::matches(Proto p, const net::IpAddr& dst, uint16_t port) const {
  return p == proto && addresses_match(&dst, listen_address(*this)) && port >= first && port <= last;
}

bool FwdRule::conflicts_with(const FwdRule& o) const {
  if (proto != o.proto) return false;
  if (!addresses_match(listen_address(*this), listen_address(o))) return false;
  return !(last < o.first || o.last < first);
}

bool operator==(const FwdRule& a, const FwdRule& b) {
  return a.proto == b.proto && a.any_address == b.any_address && a.addr == b.addr &&
         a.ifname == b.ifname && a.first == b.first && a.last == b.last && a.to == b.to &&
         a.target == b.target && a.weak == b.weak && a.scan == b.scan;
}

std::string FwdRule::to_string() const {
  // PROTO [ADDR]%IFNAME:FIRST-LAST  =>  TARGET:TO-TOLAST  (best effort) (auto-scan)
  // with a single port when first == last. The blank before the flags is
  // always there, as in pesto's output.
  std::string s = proto == Proto::Udp ? "UDP" : "TCP";
  s += " [";
  s += any_address ? std::string("*") : addr.to_string();
  s += "]";
  if (!ifname.empty()) s += "%" + ifname;
  s += ":" + std::to_string(first);
  if (first != last) s += "-" + std::to_string(last);
  s += "  =>  ";
  if (has_target()) s += target.to_string() + ":";
  s += std::to_string(to);
  if (first != last) s += "-" + std::to_string(to_last());
  s += " ";
  if (weak) s += " (best effort)";
  if (scan) s += " (auto-scan)";
  return s;
}

size_t FwdTable::socket_count() const {
  size_t n = 0;
  for (const auto& r : rules) n += size_t{r.last} - r.first + 1;
  return n;
}

Expected<void, std::string> FwdTable::add(const FwdRule& r) {
  auto fail = [&](const std::string& why) { return unexpected("cannot add rule " + brief(r) + ": " + why); };
  if (r.first > r.last)
    return fail("port range " + std::to_string(r.first) + "-" + std::to_string(r.last) + " ends before it starts");
  if (r.first == 0) return fail("it forwards from port 0");
  if (r.to == 0 || uint32_t{r.to} + (r.last - r.first) > 65535) return fail("it forwards to port 0");
  if (r.ifname.size() > kFwdIfnameMax || r.ifname.find('\0') != std::string::npos)
    return fail("invalid interface name");

  if (r.any_address) {
    if (r.addr != ipv6_unspecified())
      return fail("a rule for every address has the specific address " + r.addr.to_string());
    if (!(caps & FwdCap::kIpv4)) return fail("a dual-stack rule, but IPv4 is not enabled");
    if (!(caps & FwdCap::kIpv6)) return fail("a dual-stack rule, but IPv6 is not enabled");
  } else if (r.addr.is_v4() && !(caps & FwdCap::kIpv4)) {
    return fail("an IPv4 rule, but IPv4 is not enabled");
  } else if (!r.addr.is_v4() && !(caps & FwdCap::kIpv6)) {
    return fail("an IPv6 rule, but IPv6 is not enabled");
  }
  if (r.proto == Proto::Tcp && !(caps & FwdCap::kTcp)) return fail("TCP is not enabled");
  if (r.proto == Proto::Udp && !(caps & FwdCap::kUdp)) return fail("UDP is not enabled");

  if (r.has_target()) {
    if (is_multicast_or_broadcast(r.target)) return fail("the target address is multicast or broadcast");
    if (r.any_address)
      return fail(std::string("a rule for every address cannot forward to one ") + family_name(r.target) +
                  " address (give the listening address " + (r.target.is_v4() ? "0.0.0.0" : "[::]") +
                  "/... instead)");
    if (r.addr.is_v4() != r.target.is_v4())
      return fail(std::string("it forwards from ") + family_name(r.addr) + " to " + family_name(r.target));
  }

  for (const auto& old : rules)
    if (r.conflicts_with(old)) return fail("it conflicts with rule " + brief(old));
  if (rules.size() >= kMaxRules) return fail("too many rules (at most " + std::to_string(kMaxRules) + ")");
  if (socket_count() + (size_t{r.last} - r.first + 1) > kMaxSockets)
    return fail("the rules would need more than " + std::to_string(kMaxSockets) + " listening sockets");
  rules.push_back(r);
  return {};
}

Expected<void, std::string> FwdTable::remove(const FwdRule& r) {
  for (auto it = rules.begin(); it != rules.end(); ++it) {
    if (*it == r) {
      rules.erase(it);
      return {};
    }
    if (r.conflicts_with(*it))
      return unexpected("cannot delete rule " + brief(r) + ": it overlaps rule " + brief(*it) +
                        " without matching it");
  }
  return unexpected("cannot delete rule " + brief(r) + ": no such rule");
}

}  // namespace netd::portfwd
