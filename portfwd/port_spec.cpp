#include "portfwd/port_spec.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "common/net/endpoint.h"
#include "common/parse_number.h"

namespace netd::portfwd {

const char* proto_name(Proto p) { return p == Proto::Udp ? "udp" : "tcp"; }

namespace {

// "N" with 1 <= N <= 65535, digits only.
Expected<uint16_t, std::string> parse_port(std::string_view s, const char* what) {
  if (s.empty()) return unexpected(std::string("empty ") + what);
  if (s.size() > 5) return unexpected(std::string(what) + " '" + std::string(s) + "' out of range 1-65535");
  if (s.find_first_not_of("0123456789") != std::string_view::npos)
    return unexpected(std::string(what) + " '" + std::string(s) + "' is not a number");
  auto v = parse_decimal<uint16_t>(s, 1, 65535);
  if (!v) return unexpected(std::string(what) + " '" + std::string(s) + "' out of range 1-65535");
  return *v;
}

struct Range {
  uint16_t first, last;
};

// "N" or "N-M" with N <= M.
Expected<Range, std::string> parse_range(std::string_view s, const char* what) {
  auto dash = s.find('-');
  if (dash == std::string_view::npos) {
    auto p = parse_port(s, what);
    if (!p) return unexpected(p.error());
    return Range{*p, *p};
  }
  auto a = parse_port(s.substr(0, dash), what);
  if (!a) return unexpected(a.error());
  auto b = parse_port(s.substr(dash + 1), what);
  if (!b) return unexpected(b.error());
  if (*b < *a) return unexpected(std::string(what) + " range '" + std::string(s) + "' ends before it starts");
  return Range{*a, *b};
}

}  // namespace

Expected<PortSpec, std::string> parse_port_spec(std::string_view spec) {
  if (spec.empty()) return unexpected(std::string("empty port spec"));
  PortSpec out;
  std::string_view rest = spec;

  auto slash = rest.rfind('/');
  if (slash != std::string_view::npos) {
    std::string_view proto = rest.substr(slash + 1);
    if (proto == "tcp") out.proto = Proto::Tcp;
    else if (proto == "udp") out.proto = Proto::Udp;
    else return unexpected("unknown protocol '" + std::string(proto) + "' (tcp or udp)");
    rest = rest.substr(0, slash);
  }

  std::string_view host_ports, ctr_ports;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos) return unexpected(std::string("missing ']' after IPv6 host address"));
    std::string_view addr = rest.substr(1, close - 1);
    auto ip = net::Ipv6Addr::parse(addr);
    if (!ip) return unexpected("bad IPv6 host address '" + std::string(addr) + "'");
    out.host_addr = *ip;
    rest = rest.substr(close + 1);
    if (rest.empty() || rest.front() != ':') return unexpected(std::string("expected ':' after ']'"));
    rest = rest.substr(1);
    auto colon = rest.find(':');
    if (colon == std::string_view::npos)
      return unexpected(std::string("missing container port (HOSTPORT:CONTAINERPORT)"));
    host_ports = rest.substr(0, colon);
    ctr_ports = rest.substr(colon + 1);
  } else {
    size_t colons = 0;
    for (char c : rest) colons += c == ':';
    if (colons == 0) return unexpected(std::string("missing container port (HOSTPORT:CONTAINERPORT)"));
    if (colons > 2) return unexpected(std::string("too many ':' (put an IPv6 host address in brackets: [::1]:8080:80)"));
    auto last = rest.rfind(':');
    ctr_ports = rest.substr(last + 1);
    std::string_view front = rest.substr(0, last);
    if (colons == 2) {
      auto first = front.find(':');
      std::string_view addr = front.substr(0, first);
      if (addr.empty()) return unexpected(std::string("empty host address"));
      auto ip = net::Ipv4Addr::parse(addr);
      if (!ip) return unexpected("bad IPv4 host address '" + std::string(addr) + "'");
      out.host_addr = *ip;
      host_ports = front.substr(first + 1);
    } else {
      host_ports = front;
    }
  }
  if (ctr_ports.find(':') != std::string_view::npos)
    return unexpected(std::string("too many ':' after the IPv6 host address"));

  auto h = parse_range(host_ports, "host port");
  if (!h) return unexpected(h.error());
  auto c = parse_range(ctr_ports, "container port");
  if (!c) return unexpected(c.error());
  if (h->last - h->first != c->last - c->first) {
    return unexpected("host range " + std::string(host_ports) + " and container range " + std::string(ctr_ports) +
                      " differ in length");
  }
  out.host_first = h->first;
  out.host_last = h->last;
  out.ctr_first = c->first;
  out.ctr_last = c->last;
  return out;
}

std::string PortSpec::to_string() const {
  auto range = [](uint16_t a, uint16_t b) {
    return a == b ? std::to_string(a) : std::to_string(a) + "-" + std::to_string(b);
  };
  std::string addr = host_addr.is_v6() ? "[" + host_addr.to_string() + "]" : host_addr.to_string();
  return addr + ":" + range(host_first, host_last) + ":" + range(ctr_first, ctr_last) + "/" + proto_name(proto);
}

std::vector<Forward> expand(const PortSpec& s) {
  std::vector<Forward> out;
  for (uint32_t i = 0; i <= uint32_t{s.host_last} - s.host_first; ++i) {
    Forward f;
    f.proto = s.proto;
    f.host_addr = s.host_addr;
    f.host_port = static_cast<uint16_t>(s.host_first + i);
    f.guest_port = static_cast<uint16_t>(s.ctr_first + i);
    out.push_back(f);
  }
  return out;
}

int unprivileged_port_start() {
  std::ifstream in("/proc/sys/net/ipv4/ip_unprivileged_port_start");
  int v = 1024;
  if (!(in >> v)) return 1024;
  return v;
}

std::string bind_error_message(const net::IpAddr& addr, uint16_t port, Proto proto, int err, int unpriv_start) {
  std::string where = net::to_string(net::Endpoint{addr, port}) + "/" + proto_name(proto);
  std::string msg = "cannot bind " + where + ": " + std::strerror(err);
  if (err == EACCES && port < unpriv_start) {
    msg += " (ports below " + std::to_string(unpriv_start) +
           " are privileged: lower sysctl net.ipv4.ip_unprivileged_port_start, or use a higher port)";
  } else if (err == EADDRINUSE) {
    msg += " (another process listens there)";
  } else if (err == EADDRNOTAVAIL) {
    msg += " (no such local address)";
  }
  return msg;
}

Expected<std::vector<Forward>, std::string> parse_port_specs(const std::vector<std::string>& specs) {
  std::vector<Forward> out;
  for (const auto& text : specs) {
    auto spec = parse_port_spec(text);
    if (!spec) return unexpected("-p " + text + ": " + spec.error());
    for (const auto& m : expand(*spec)) out.push_back(m);
  }
  return out;
}

}  // namespace netd::portfwd
