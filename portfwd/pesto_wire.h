// The pesto protocol: how passt/pasta's configuration socket (-c PATH) and
// the pesto client exchange forwarding tables. Byte-compatible with passt's
// protocol version 2.
//
// Theory of operation: one exchange per connection, all integers big-endian.
//
//   server -> client   hello: magic "basil:s\0" (8 bytes), version (u32, 2),
//                      pif name size (u32, 128), IFNAMSIZ (u32, 16)
//                      then for each table: pif id (u8, never 0),
//                        name (128 bytes, NUL-terminated), capabilities
//                        (u32, FwdCap bits), rule count (u32), the rules
//                      then pif id 0 (the end)
//   client -> server   for each table: pif id (u8), rule count (u32), rules
//                      then pif id 0; or nothing at all (a client that only
//                      looked closes the connection)
//
// A rule is 56 bytes: listening address (16, IPv4 as ::ffff:a.b.c.d),
// target address (16, :: for none), interface name (16, NUL-terminated and
// NUL-padded), first, last and target port (u16 each), IP protocol (u8, 6 or
// 17) and flags (u8: 1 every address, 2 best effort, 4 auto-scan).
//
// The server replaces every table with what the client sent (a table the
// client left out becomes empty) and answers nothing. pasta's pif ids are 1
// "HOST" (the inbound table, -t/-u) and 3 "SPLICE" (outbound, -T/-U).
//
// The codec does no I/O. A decoder is given the bytes received so far and
// says Complete (with the message's length), Truncated (wait for more) or
// Malformed (with the reason); it never reads past the buffer. Counts are
// bounded as pasta bounds them (at most 255 rules a table) and as pesto
// bounds them (at most 3 tables), so a whole message has a known maximum size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/expected.h"
#include "portfwd/fwd_rule.h"

namespace netd::portfwd::pesto {

inline constexpr char kMagic[8] = {'b', 'a', 's', 'i', 'l', ':', 's', '\0'};
inline constexpr uint32_t kProtocolVersion = 2;
inline constexpr uint32_t kPifNameSize = 128;
inline constexpr uint32_t kIfnameSize = 16;

inline constexpr size_t kHelloSize = 8 + 4 + 4 + 4;
inline constexpr size_t kPifInfoSize = kPifNameSize + 4 + 4;
inline constexpr size_t kRuleSize = 16 + 16 + kIfnameSize + 2 + 2 + 2 + 1 + 1;

inline constexpr uint8_t kPifNone = 0;
inline constexpr uint8_t kPifHost = 1;    // inbound: "HOST"
inline constexpr uint8_t kPifTap = 2;     // never has a table in pasta
inline constexpr uint8_t kPifSplice = 3;  // outbound: "SPLICE"
inline constexpr uint8_t kPifCount = 4;   // ids are below this

inline constexpr size_t kMaxTables = 3;
inline constexpr size_t kMaxRules = FwdTable::kMaxRules;
inline constexpr size_t kMaxServerMessage = kHelloSize + kMaxTables * (1 + kPifInfoSize + kMaxRules * kRuleSize) + 1;
inline constexpr size_t kMaxClientMessage = kMaxTables * (1 + 4 + kMaxRules * kRuleSize) + 1;

// A table as the server describes it.
struct PifTable {
  uint8_t pif = kPifNone;
  std::string name;  // at most 127 bytes
  FwdTable table;    // capabilities and rules
};

// A table as the client sends it back (no name, no capabilities).
struct PifRules {
  uint8_t pif = kPifNone;
  std::vector<FwdRule> rules;
};

enum class DecodeStatus { Complete, Truncated, Malformed };

template <class T>
struct Decoded {
  DecodeStatus status = DecodeStatus::Truncated;
  T value{};          // Complete: the message
  size_t size = 0;    // Complete: its length in bytes
  std::string error;  // Malformed: what is wrong
};

// One rule, 56 bytes.
void append_rule(std::vector<std::byte>& out, const FwdRule& rule);
// The rule at the start of `b`: Truncated if shorter than 56 bytes;
// Malformed for a protocol other than TCP/UDP, unknown flag bits or an
// interface name without its terminating NUL.
Decoded<FwdRule> decode_rule(std::span<const std::byte> b);

// The server's message: hello, `tables` (each with at most 255 rules and a
// name under 128 bytes), end marker.
std::vector<std::byte> encode_server_message(const std::vector<PifTable>& tables);
// Checks what pesto checks: magic, version 2, the two sizes, at most 3
// tables, NUL-terminated names, at most 255 rules a table, no pif id or
// name twice.
Decoded<std::vector<PifTable>> decode_server_message(std::span<const std::byte> b);

// The client's message: every table's pif id and rules, end marker.
std::vector<std::byte> encode_client_message(const std::vector<PifTable>& tables);
// Checks: pif ids below kPifCount, none twice, at most 255 rules a table.
Decoded<std::vector<PifRules>> decode_client_message(std::span<const std::byte> b);
// Whether the client's message is all in `b`: reads only the table headers
// (cost O(tables), however the bytes trickle in). Truncated: wait for more;
// otherwise decode_client_message() gives the message or the reason.
DecodeStatus frame_client_message(std::span<const std::byte> b);

// pasta's tables as the server announces them: 1 "HOST" (inbound) and 3
// "SPLICE" (outbound).
std::vector<PifTable> announce(const FwdTables& tables);
// The tables a client's message asks for: the capabilities of `current`,
// every table the client left out empty, each rule added with
// FwdTable::add() (so a conflict, a disabled family or protocol, too many
// rules... reject the whole update). Rules for a pif without a table are an
// error too.
Expected<FwdTables, std::string> tables_from_update(const std::vector<PifRules>& update, const FwdTables& current);

}  // namespace netd::portfwd::pesto
