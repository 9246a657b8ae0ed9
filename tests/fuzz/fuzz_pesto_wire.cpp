// libFuzzer target for the pesto protocol codec (portfwd/pesto_wire.h): the
// input is bytes received on a configuration socket, read both as a server's
// message (what netd pesto decodes) and as a client's update (what the -c
// server decodes).
//
// Theory of operation: AddressSanitizer turns any read outside the input
// into a crash; the harness traps when the decoders disagree with each
// other or with the encoders: a Complete message must be no longer than the
// input, must encode and decode back to the same tables, and the cheap
// framing the server uses must agree with the full decoder (never Truncated
// for a Complete update, never Complete for a Malformed one). Decoded
// updates also go through the server's table checks.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "portfwd/pesto_wire.h"

using namespace netd::portfwd;
using namespace netd::portfwd::pesto;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool same_tables(const std::vector<PifTable>& a, const std::vector<PifTable>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].pif != b[i].pif || a[i].name != b[i].name || a[i].table.caps != b[i].table.caps ||
        a[i].table.rules != b[i].table.rules)
      return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);

  auto server = decode_server_message(in);
  if (server.status == DecodeStatus::Complete) {
    check(server.size <= size);
    auto again = decode_server_message(encode_server_message(server.value));
    check(again.status == DecodeStatus::Complete && same_tables(again.value, server.value));
  } else if (server.status == DecodeStatus::Malformed) {
    check(!server.error.empty());
  }

  auto client = decode_client_message(in);
  auto framed = frame_client_message(in);
  if (client.status == DecodeStatus::Complete) {
    check(framed == DecodeStatus::Complete && client.size <= size);
    std::vector<PifTable> tables;
    for (const auto& t : client.value) tables.push_back(PifTable{t.pif, "", FwdTable{FwdCap::kAll, t.rules}});
    auto again = decode_client_message(encode_client_message(tables));
    check(again.status == DecodeStatus::Complete && again.value.size() == client.value.size());
    for (size_t i = 0; i < again.value.size(); ++i) check(again.value[i].rules == client.value[i].rules);
    FwdTables current;
    current.inbound.caps = current.outbound.caps = FwdCap::kAll;
    auto next = tables_from_update(client.value, current);
    if (next) check(next->inbound.rules.size() <= kMaxRules && next->outbound.rules.size() <= kMaxRules);
  } else {
    check(framed != DecodeStatus::Complete || client.status == DecodeStatus::Malformed);
    if (framed == DecodeStatus::Malformed) check(client.status == DecodeStatus::Malformed);
  }

  auto rule = decode_rule(in);
  if (rule.status == DecodeStatus::Complete) {
    std::vector<std::byte> out;
    append_rule(out, rule.value);
    auto again = decode_rule(out);
    check(again.status == DecodeStatus::Complete && again.value == rule.value);
    (void)rule.value.to_string();
  }
  return 0;
}
