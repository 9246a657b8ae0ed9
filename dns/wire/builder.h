// Building replies to a parsed query.
//
// Theory of operation: ReplyBuilder starts from a validated query: the header
// takes the query's id, opcode and RD bit, sets QR and RA, and the first
// question is echoed (re-encoded uncompressed, so a query that used pointers
// cannot produce a bad reply). Answers always name the question, so their
// owner is a compression pointer to offset 12. Each answer is added only if it
// fits in `max_size` (the client's UDP limit, or 65535 over TCP) with room
// kept for the OPT record; the first one that does not fit sets TC and stops
// further answers. finish() appends an OPT RR when the query had one (EDNS
// pass-through: our payload size, version 0, the client's DO bit) and returns
// the bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "dns/wire/message.h"

namespace netd::dns::wire {

constexpr uint16_t kOurUdpPayload = 1232;   // advertised in our OPT records
constexpr size_t kOptRrSize = 11;

class ReplyBuilder {
 public:
  ReplyBuilder(const MessageView& query, size_t max_size);

  void set_rcode(Rcode r) { rcode_ = r; }
  void set_authoritative(bool aa) { aa_ = aa; }

  // Adds an answer RR for the question name. False if it did not fit (TC is
  // then set) or the query had no question.
  bool add_answer(uint16_t rtype, uint32_t ttl, std::span<const std::byte> rdata);
  bool add_a(uint32_t ttl, const std::array<uint8_t, 4>& addr);
  bool add_aaaa(uint32_t ttl, const std::array<uint8_t, 16>& addr);
  bool add_ptr(uint32_t ttl, const Name& target);

  bool truncated() const { return tc_; }
  uint16_t answer_count() const { return ancount_; }
  std::vector<std::byte> finish();

 private:
  std::vector<std::byte> out_;
  size_t max_size_;
  bool has_question_ = false;
  bool query_opt_ = false;
  bool query_do_ = false;
  uint16_t query_flags_ = 0;
  Rcode rcode_ = Rcode::NoError;
  bool aa_ = false;
  bool tc_ = false;
  uint16_t ancount_ = 0;
};

// A reply carrying only `rcode` (NXDOMAIN, SERVFAIL, NOERROR with no data, ...).
std::vector<std::byte> make_error_reply(const MessageView& query, Rcode rcode, bool authoritative = false);

// SERVFAIL for raw query bytes: id and RD copied, the question echoed, RCODE 2,
// OPT echoed if present. nullopt if the bytes are not a parseable query (or are a response).
std::optional<std::vector<std::byte>> make_servfail(std::span<const std::byte> query);

// A query for (name, qtype, IN) with RD set; with `edns` an OPT RR advertising
// kOurUdpPayload. Used by tests, tools and health checks.
std::vector<std::byte> make_query(uint16_t id, const Name& name, uint16_t qtype, bool edns = false);

}  // namespace netd::dns::wire
