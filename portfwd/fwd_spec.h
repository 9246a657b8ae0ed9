// pasta's port forwarding specs: the SPEC of -t/-u (inbound) and -T/-U
// (outbound), for `netd pasta` and `netd pesto` alike.
//
//   SPEC  := none | [ADDR[%IFNAME]/ | %IFNAME/ | */ | /]PORTS
//   PORTS := CHUNK[,CHUNK]...
//   CHUNK := all[:TADDR] | auto | ~FIRST[-LAST]
//          | FIRST[-LAST][:TADDR/TFIRST[-TLAST] | :TADDR | :TFIRST[-TLAST]]
//
// Theory of operation: apply_port_spec() turns one SPEC into rules and adds
// them to (or, for pesto --delete, removes them from) the table of the
// option's direction, with pasta's semantics:
// - `none` adds nothing, and is an error if the table already has rules of
//   that protocol.
// - No address (or `*`) means every IPv4 and IPv6 address (a dual-stack
//   rule), or every address of the one family the table supports. IPv6
//   addresses may be bracketed; ::ffff:a.b.c.d is IPv4.
// - -T/-U take no listening address: they listen on the namespace's `lo`
//   (bound with SO_BINDTODEVICE), or, without interface binding, on
//   127.0.0.1 and ::1 separately (with a warning).
// - Exclusions (`~`) apply to the whole spec, whatever their position; an
//   include range is split around them into several rules.
// - A spec with no include range (only `all`, `auto` and/or exclusions)
//   forwards every port from 1 to 65535 that is neither excluded nor
//   ephemeral (net.ipv4.ip_local_port_range), as best-effort rules.
// - `auto` marks every rule of the spec as scanning (only where the target
//   port is bound); it needs FwdCap::kScan.
// - A target range must be as long as its listening range.
// Numbers are read like strtoul(3) reads them (leading blanks and a sign
// allowed), as pasta does. The table is changed only when the whole spec
// succeeded. Nothing here does I/O except the two probes at the
// end.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/expected.h"
#include "portfwd/fwd_rule.h"

namespace netd::portfwd {

struct PortRange {
  uint16_t first = 0;
  uint16_t last = 0;
};
// The ephemeral range RFC 6335 recommends, used when the sysctl is unreadable.
inline constexpr PortRange kRfc6335Ephemeral{49152, 65535};

enum class SpecAction { Add, Delete };

// Applies `spec` of option `option` ('t', 'u', 'T' or 'U') to `table` (the
// table of that option's direction: FwdTables::for_option). Warnings (the
// loopback fallback of -T/-U) are appended to `warnings` when given. The
// error is one line, e.g. "invalid port specifier '22x'" or "cannot add rule
// TCP [*]:22  =>  22: it conflicts with rule ...".
Expected<void, std::string> apply_port_spec(char option, std::string_view spec, SpecAction action,
                                            FwdTable& table, PortRange ephemeral = kRfc6335Ephemeral,
                                            std::vector<std::string>* warnings = nullptr);

// pasta's start-up tables: both tables get `caps`, then every (option, SPEC)
// pair is applied in order, then `auto` for each of -t, -u, -T, -U that was
// not given (pasta's default). The error names the option: "-t 22x: ...".
Expected<FwdTables, std::string> build_pasta_tables(const std::vector<std::pair<char, std::string>>& options,
                                                    uint32_t caps, PortRange ephemeral = kRfc6335Ephemeral,
                                                    std::vector<std::string>* warnings = nullptr);

// net.ipv4.ip_local_port_range, or kRfc6335Ephemeral when it cannot be read
// or parsed (then `warning`, if given, says why).
PortRange read_ephemeral_ports(std::string* warning = nullptr);
// Whether this process may bind sockets to an interface (SO_BINDTODEVICE
// without privilege: Linux 5.7+), i.e. whether tables get FwdCap::kIfname.
bool probe_bind_to_device();

}  // namespace netd::portfwd
