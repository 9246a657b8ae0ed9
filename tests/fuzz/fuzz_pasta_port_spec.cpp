// libFuzzer target for pasta's -t/-u/-T/-U spec parser (portfwd/fwd_spec.h).
// The first input byte picks the option and drops capabilities, the next two
// the ephemeral range's start; the rest is the spec.
//
// Theory of operation: a spec either succeeds or leaves the table exactly as
// it was with a message. On success every rule is one the table accepts on
// its own (re-adding them all to an empty table with the same capabilities
// works, so they do not conflict), and deleting the same spec gives the
// original table back. The table starts with one rule so conflicts and
// 'none' are reachable. A trap marks a violation.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "portfwd/fwd_spec.h"

using namespace netd::portfwd;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3 || size > 4096) return 0;
  static const char kOptions[] = {'t', 'u', 'T', 'U'};
  const char option = kOptions[data[0] & 3];
  // Bits 2-7 clear capabilities (IPv4, IPv6, TCP, UDP, scan, ifname), rarely.
  const uint32_t caps = (data[0] & 0xc0) == 0xc0 ? FwdCap::kAll & ~((data[0] >> 2) & 0x3fu) : FwdCap::kAll;
  const uint16_t eph_first = static_cast<uint16_t>(data[1] << 8 | data[2]);
  const PortRange ephemeral{eph_first, 65535};
  std::string_view spec(reinterpret_cast<const char*>(data + 3), size - 3);

  FwdTable table;
  table.caps = caps;
  FwdRule seed;
  seed.addr = netd::net::Ipv4Addr::from_octets(127, 0, 0, 1);
  seed.first = seed.last = seed.to = 4242;
  (void)table.add(seed);
  const FwdTable before = table;

  auto added = apply_port_spec(option, spec, SpecAction::Add, table, ephemeral);
  if (!added) {
    check(!added.error().empty());
    check(table.rules == before.rules);
    return 0;
  }
  FwdTable fresh;
  fresh.caps = caps;
  for (const auto& r : table.rules) {
    check(fresh.add(r).has_value());
    check(r.first >= 1 && r.first <= r.last && r.to >= 1 && uint32_t{r.to} + (r.last - r.first) <= 65535);
    (void)r.to_string();
  }
  auto removed = apply_port_spec(option, spec, SpecAction::Delete, table, ephemeral);
  check(removed.has_value());
  check(table.rules == before.rules);
  return 0;
}
