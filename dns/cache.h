// A small cache of upstream answers, positive and negative (RFC 2308).
//
// Theory of operation: the engine keys an entry by everything that can change
// the answer (upstream set, lowercase question, type, class, EDNS/DO). An
// answer is kept for the smallest TTL of its answer records; an NXDOMAIN or a
// NOERROR without answers for min(SOA TTL, SOA MINIMUM) from the authority
// section (no SOA: not cached). Truncated answers, SERVFAIL and TTL 0 are
// never stored. A hit is a copy of the stored message with the client's id
// and question spelling, and every TTL lowered by the time it spent here
// (the TTL positions are found once, when the answer is stored).
// Capacity is bounded; the oldest entry goes first. Pure data: the caller
// passes `now`.
#pragma once

#include <list>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/time.h"
#include "dns/wire/message.h"

namespace netd::dns {

class Cache {
 public:
  struct Limits {
    size_t max_entries = 4096;
    seconds max_ttl{3600};
    seconds max_negative_ttl{300};
  };
  Cache() : Cache(Limits{}) {}
  explicit Cache(Limits l) : limits_(l) {}

  // The stored answer for `key`, rewritten for `query`, if fresh and not
  // larger than `max_size`.
  std::optional<std::vector<std::byte>> get(Time now, const std::string& key,
                                            const wire::MessageView& query, size_t max_size);
  // Stores `reply` under `key` if it is cacheable (see above).
  void put(Time now, const std::string& key, std::span<const std::byte> reply);
  size_t size() const { return map_.size(); }
  void clear();

  // Seconds `reply` may be cached for (0: not cacheable). Exposed for tests.
  static uint32_t cacheable_ttl(const wire::MessageView& reply);

 private:
  struct Entry {
    std::vector<std::byte> bytes;
    Time stored;
    Time expires;
    std::list<std::string>::iterator order;
    // Where each record's TTL sits in `bytes` and its value when stored, so a
    // hit lowers them without parsing the message again (the hot path).
    std::vector<std::pair<uint32_t, uint32_t>> ttls;   // offset, ttl
  };
  void erase(std::unordered_map<std::string, Entry>::iterator it);
  Limits limits_;
  std::unordered_map<std::string, Entry> map_;
  std::list<std::string> order_;   // oldest first
};

}  // namespace netd::dns
