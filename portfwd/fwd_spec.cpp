#include "portfwd/fwd_spec.h"

#include <sys/socket.h>
#include <unistd.h>

#include <bitset>
#include <charconv>
#include <fstream>

namespace netd::portfwd {

namespace {

// Parsing primitives. Each takes the unparsed rest of the input; on success
// it consumes what it recognised and fills its outputs, on failure it leaves
// the rest and the outputs untouched.

bool literal(std::string_view& p, std::string_view lit) {
  if (p.substr(0, lit.size()) != lit) return false;
  p.remove_prefix(lit.size());
  return true;
}

// A decimal number as strtoul(3) reads one, since pasta's specs are read
// that way: leading blanks and a sign are allowed ("-0" is 0, any other
// negative number wraps to a value no port range accepts).
bool number(std::string_view& p, uint64_t& v) {
  std::string_view q = p;
  size_t start = q.find_first_not_of(" \t\n\v\f\r");
  if (start == std::string_view::npos) return false;
  q.remove_prefix(start);
  bool negative = false;
  if (!q.empty() && (q[0] == '+' || q[0] == '-')) {
    negative = q[0] == '-';
    q.remove_prefix(1);
  }
  uint64_t out = 0;
  auto [end, ec] = std::from_chars(q.data(), q.data() + q.size(), out);
  if (ec != std::errc() || end == q.data()) return false;
  q.remove_prefix(static_cast<size_t>(end - q.data()));
  v = negative && out != 0 ? UINT64_MAX : out;
  p = q;
  return true;
}

// FIRST[-LAST], FIRST <= LAST <= 65535.
bool port_range(std::string_view& p, PortRange& r) {
  std::string_view q = p;
  uint64_t first = 0, last = 0;
  if (!number(q, first)) return false;
  last = first;
  if (literal(q, "-") && !number(q, last)) return false;
  if (last < first || last > 65535) return false;
  r = PortRange{static_cast<uint16_t>(first), static_cast<uint16_t>(last)};
  p = q;
  return true;
}

// An address of `Addr`'s family: "[TEXT]" or the longest run of `chars`.
template <class Addr>
bool address_of(std::string_view& p, std::string_view chars, net::IpAddr& out) {
  std::string_view q = p;
  bool bracket = literal(q, "[");
  size_t len = bracket ? q.find(']') : q.find_first_not_of(chars);
  if (len == std::string_view::npos) len = q.size();
  auto a = Addr::parse(q.substr(0, len));
  q.remove_prefix(len);
  if (!a) return false;
  if (bracket && !literal(q, "]")) return false;
  out = net::IpAddr(*a);
  p = q;
  return true;
}

// An IPv6 address (IPv4-mapped ones are IPv4, see common/net/ip.h), else an
// IPv4 address.
bool any_address(std::string_view& p, net::IpAddr& out) {
  return address_of<net::Ipv6Addr>(p, "0123456789aAbBcCdDeEfF:.", out) ||
         address_of<net::Ipv4Addr>(p, "0123456789.", out);
}

// An optional %IFNAME: 1-15 bytes up to a '/' or blank.
bool interface_spec(std::string_view& p, std::string& ifname) {
  std::string_view q = p;
  if (!literal(q, "%")) {
    ifname.clear();
    return true;
  }
  size_t len = q.find_first_of("/ \f\n\r\t\v");
  if (len == std::string_view::npos) len = q.size();
  if (len == 0 || len > kFwdIfnameMax) return false;
  ifname = std::string(q.substr(0, len));
  p = q.substr(len);
  return true;
}

// The listening part in front of the ports.
struct Listen {
  bool any = true;
  net::IpAddr addr = ipv6_unspecified();
  std::string ifname;
};

// ADDR[%IFNAME]/, or [*][%IFNAME]/ for every address.
bool listen_prefix(std::string_view& p, Listen& out) {
  std::string_view q = p;
  Listen l;
  if (any_address(q, l.addr) && interface_spec(q, l.ifname) && literal(q, "/")) {
    l.any = false;
  } else {
    q = p;
    l = Listen{};
    literal(q, "*");
    if (!(interface_spec(q, l.ifname) && literal(q, "/"))) return false;
  }
  out = std::move(l);
  p = q;
  return true;
}

enum class ChunkKind { All, Auto, Exclude, Include };

struct Chunk {
  ChunkKind kind = ChunkKind::Include;
  PortRange ports;                        // Exclude, Include
  net::IpAddr target = ipv6_unspecified();  // All, Include
  PortRange target_ports;                 // Include
};

bool chunk(std::string_view& p, Chunk& out) {
  std::string_view q = p;
  Chunk c;
  if (literal(q, "all")) {
    c.kind = ChunkKind::All;
    std::string_view r = q;
    net::IpAddr t;
    if (literal(r, ":") && any_address(r, t)) {
      c.target = t;
      q = r;
    }
  } else if (literal(q, "auto")) {
    c.kind = ChunkKind::Auto;
  } else if (literal(q, "~")) {
    c.kind = ChunkKind::Exclude;
    if (!port_range(q, c.ports)) return false;
  } else if (port_range(q, c.ports)) {
    c.kind = ChunkKind::Include;
    c.target_ports = c.ports;
    // The target, in this order of preference: :TADDR/TFIRST[-TLAST],
    // :TADDR, :TFIRST[-TLAST]; or none.
    auto target = [&](bool with_address, bool with_ports) {
      std::string_view r = q;
      net::IpAddr t = ipv6_unspecified();
      PortRange tr = c.ports;
      if (!literal(r, ":")) return false;
      if (with_address && !any_address(r, t)) return false;
      if (with_address && with_ports && !literal(r, "/")) return false;
      if (with_ports && !port_range(r, tr)) return false;
      c.target = t;
      c.target_ports = tr;
      q = r;
      return true;
    };
    if (!target(true, true) && !target(true, false)) target(false, true);
  } else {
    return false;
  }
  out = c;
  p = q;
  return true;
}

using PortSet = std::bitset<65536>;

// Adds (or deletes) the rules for first..last minus `exclude`: one rule per
// run of ports that are not excluded, each mapped with the same offset as
// `first` -> `target_first`.
Expected<void, std::string> rules_for_range(FwdTable& table, SpecAction action, FwdRule rule, unsigned first,
                                            unsigned last, const PortSet& exclude, uint16_t target_first) {
  const auto offset = static_cast<uint16_t>(target_first - first);
  for (unsigned base = first; base <= last; ++base) {
    if (exclude.test(base)) continue;
    unsigned end = base;
    while (end <= last && !exclude.test(end)) ++end;
    rule.first = static_cast<uint16_t>(base);
    rule.last = static_cast<uint16_t>(end - 1);
    rule.to = static_cast<uint16_t>(base + offset);
    auto r = action == SpecAction::Add ? table.add(rule) : table.remove(rule);
    if (!r) return r;
    base = end - 1;
  }
  return {};
}

// The PORTS part of a spec, for rules that listen as `base` says.
Expected<void, std::string> apply_ports(FwdTable& table, SpecAction action, const FwdRule& base,
                                        std::string_view ports, PortRange ephemeral) {
  auto invalid = [&] { return unexpected("invalid port specifier '" + std::string(ports) + "'"); };
  PortSet exclude;
  FwdRule rule = base;
  Chunk c;

  // First pass: 'auto' and exclusions hold for the whole spec.
  std::string_view p = ports;
  do {
    if (!chunk(p, c)) return invalid();
    if (c.kind == ChunkKind::Auto) {
      if (!(table.caps & FwdCap::kScan)) return unexpected(std::string("'auto' port forwarding is only for pasta"));
      rule.scan = true;
    } else if (c.kind == ChunkKind::Exclude) {
      for (unsigned port = c.ports.first; port <= c.ports.last; ++port) exclude.set(port);
    }
  } while (literal(p, ","));

  // Second pass: the include ranges, in order.
  net::IpAddr all_target = ipv6_unspecified();
  bool exclusions_only = true;
  p = ports;
  do {
    if (!chunk(p, c)) return invalid();
    if (c.kind == ChunkKind::All) {
      all_target = c.target;
    } else if (c.kind == ChunkKind::Include) {
      exclusions_only = false;
      if (c.target_ports.last - c.target_ports.first != c.ports.last - c.ports.first) return invalid();
      FwdRule r = rule;
      r.target = c.target;
      auto done = rules_for_range(table, action, r, c.ports.first, c.ports.last, exclude, c.target_ports.first);
      if (!done) return done;
    }
  } while (literal(p, ","));
  if (!p.empty()) return invalid();

  // No include range: every port that is neither excluded nor ephemeral.
  if (exclusions_only) {
    for (unsigned port = ephemeral.first; port <= ephemeral.last && ephemeral.first <= ephemeral.last; ++port)
      exclude.set(port);
    FwdRule r = rule;
    r.target = all_target;
    r.weak = true;
    return rules_for_range(table, action, r, 1, 65535, exclude, 1);
  }
  return {};
}

bool is_option(char option) { return option == 't' || option == 'u' || option == 'T' || option == 'U'; }

}  // namespace

Expected<void, std::string> apply_port_spec(char option, std::string_view spec, SpecAction action,
                                            FwdTable& table, PortRange ephemeral,
                                            std::vector<std::string>* warnings) {
  if (!is_option(option)) return unexpected(std::string("unknown forwarding option -") + option);
  const std::string opt_spec = std::string("-") + option + " " + std::string(spec);
  const bool outbound = option == 'T' || option == 'U';
  const Proto proto = option == 't' || option == 'T' ? Proto::Tcp : Proto::Udp;
  if (spec.find('\0') != std::string_view::npos) return unexpected(std::string("invalid port specifier"));

  if (spec == "none") {
    for (const auto& r : table.rules)
      if (r.proto == proto)
        return unexpected(std::string("-") + option + " none conflicts with the " +
                          (proto == Proto::Tcp ? "TCP" : "UDP") + " rules given before it");
    return {};
  }

  std::string_view ports = spec;
  Listen listen;
  if (listen_prefix(ports, listen)) {
    if (outbound) return unexpected("a listening address is not allowed for " + opt_spec);
    if (listen.ifname == "." || listen.ifname == "..")
      return unexpected("invalid interface name: " + listen.ifname);
  }

  FwdTable work = table;
  FwdRule base;
  base.proto = proto;

  if (outbound) {
    if (!(table.caps & FwdCap::kIfname)) {
      // Without SO_BINDTODEVICE, "the namespace's lo" can only be its two
      // loopback addresses.
      if (warnings)
        warnings->push_back("binding to an interface (SO_BINDTODEVICE) is unavailable: forwarding only "
                            "127.0.0.1 and ::1 for " + opt_spec);
      const std::pair<uint32_t, net::IpAddr> loopbacks[] = {{FwdCap::kIpv4, *net::IpAddr::parse("127.0.0.1")},
                                                          {FwdCap::kIpv6, *net::IpAddr::parse("::1")}};
      for (const auto& [family_cap, loopback] : loopbacks) {
        if (!(table.caps & family_cap)) continue;
        FwdRule r = base;
        r.addr = loopback;
        auto done = apply_ports(work, action, r, ports, ephemeral);
        if (!done) return done;
      }
      table = std::move(work);
      return {};
    }
    listen.ifname = "lo";
  }

  base.any_address = listen.any;
  base.addr = listen.addr;
  base.ifname = listen.ifname;
  // With a single IP version there is no need for a dual-stack rule.
  if (base.any_address && !(table.caps & FwdCap::kIpv4)) {
    base.any_address = false;
    base.addr = ipv6_unspecified();
  } else if (base.any_address && !(table.caps & FwdCap::kIpv6)) {
    base.any_address = false;
    base.addr = net::IpAddr(net::Ipv4Addr{});
  }
  if (!base.ifname.empty() && !(table.caps & FwdCap::kIfname))
    return unexpected("binding to an interface for " + opt_spec +
                      " is unsupported here (SO_BINDTODEVICE needs Linux 5.7 or later)");

  auto done = apply_ports(work, action, base, ports, ephemeral);
  if (!done) return done;
  table = std::move(work);
  return {};
}

Expected<FwdTables, std::string> build_pasta_tables(const std::vector<std::pair<char, std::string>>& options,
                                                    uint32_t caps, PortRange ephemeral,
                                                    std::vector<std::string>* warnings) {
  FwdTables tables;
  tables.inbound.caps = tables.outbound.caps = caps;
  std::string given;
  for (const auto& [option, spec] : options) {
    auto r = apply_port_spec(option, spec, SpecAction::Add, tables.for_option(option), ephemeral, warnings);
    if (!r) return unexpected(std::string("-") + option + " " + spec + ": " + r.error());
    given += option;
  }
  for (char option : {'t', 'T', 'u', 'U'}) {
    if (given.find(option) != std::string::npos) continue;
    auto r = apply_port_spec(option, "auto", SpecAction::Add, tables.for_option(option), ephemeral, warnings);
    if (!r) return unexpected(std::string("-") + option + " auto (the default): " + r.error());
  }
  return tables;
}

PortRange read_ephemeral_ports(std::string* warning) {
  const char* path = "/proc/sys/net/ipv4/ip_local_port_range";
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) {
    if (warning) *warning = std::string("cannot read ") + path;
    return kRfc6335Ephemeral;
  }
  std::string_view p = line;
  uint64_t min = 0, max = 0;
  if (!number(p, min) || !literal(p, "\t") || !number(p, max) || !p.empty() || min > 65535 || max > 65535) {
    if (warning) *warning = std::string("cannot parse ") + path + ": '" + line + "'";
    return kRfc6335Ephemeral;
  }
  return PortRange{static_cast<uint16_t>(min), static_cast<uint16_t>(max)};
}

bool probe_bind_to_device() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  static const char kLo[] = "lo";
  bool ok = ::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, kLo, sizeof kLo - 1) == 0;
  ::close(fd);
  return ok;
}

}  // namespace netd::portfwd
