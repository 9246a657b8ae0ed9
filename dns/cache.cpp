#include "dns/cache.h"

#include <algorithm>
#include <cstring>

namespace netd::dns {
namespace {
void store32(std::vector<std::byte>& b, size_t off, uint32_t v) {
  b[off] = static_cast<std::byte>(v >> 24);
  b[off + 1] = static_cast<std::byte>(v >> 16);
  b[off + 2] = static_cast<std::byte>(v >> 8);
  b[off + 3] = static_cast<std::byte>(v);
}
unsigned char fold(std::byte b) {
  unsigned char c = std::to_integer<unsigned char>(b);
  return (c >= 'A' && c <= 'Z') ? static_cast<unsigned char>(c - 'A' + 'a') : c;
}
}  // namespace

uint32_t Cache::cacheable_ttl(const wire::MessageView& r) {
  auto h = r.header();
  if (!h.qr() || h.tc() || h.qdcount != 1) return 0;
  if (h.rcode() != wire::Rcode::NoError && h.rcode() != wire::Rcode::NxDomain) return 0;
  bool negative = h.rcode() == wire::Rcode::NxDomain || h.ancount == 0;
  std::optional<uint32_t> ttl;
  r.for_each_record([&](const wire::Record& rec) {
    if (rec.rtype == wire::type::OPT) return;
    if (!negative && rec.section == wire::Section::Answer) {
      ttl = std::min(ttl.value_or(rec.ttl), rec.ttl);
    } else if (negative && rec.section == wire::Section::Authority && rec.rtype == wire::type::SOA &&
               rec.rdata.size() >= 22) {
      uint32_t minimum = wire::load32(rec.rdata, rec.rdata.size() - 4);
      ttl = std::min({ttl.value_or(rec.ttl), rec.ttl, minimum});
    }
  });
  return ttl.value_or(0);
}

void Cache::put(Time now, const std::string& key, std::span<const std::byte> reply) {
  auto v = wire::MessageView::parse(reply);
  if (!v) return;
  uint32_t ttl = cacheable_ttl(*v);
  bool negative = v->header().rcode() == wire::Rcode::NxDomain || v->header().ancount == 0;
  seconds cap = negative ? limits_.max_negative_ttl : limits_.max_ttl;
  seconds keep = std::min<seconds>(seconds(ttl), cap);
  if (keep.count() <= 0 || limits_.max_entries == 0) return;
  auto old = map_.find(key);
  if (old != map_.end()) erase(old);
  while (map_.size() >= limits_.max_entries) erase(map_.find(order_.front()));
  order_.push_back(key);
  Entry e{std::vector<std::byte>(reply.begin(), reply.end()), now, now + keep, std::prev(order_.end()), {}};
  v->for_each_record([&](const wire::Record& rec) {
    if (rec.rtype == wire::type::OPT) return;  // its "TTL" holds EDNS flags
    e.ttls.emplace_back(static_cast<uint32_t>(rec.rdata_offset - 6), rec.ttl);
  });
  map_.emplace(key, std::move(e));
}

std::optional<std::vector<std::byte>> Cache::get(Time now, const std::string& key,
                                                 const wire::MessageView& query, size_t max_size) {
  auto it = map_.find(key);
  if (it == map_.end()) return std::nullopt;
  if (now >= it->second.expires) {
    erase(it);
    return std::nullopt;
  }
  if (it->second.bytes.size() > max_size) return std::nullopt;
  std::vector<std::byte> out = it->second.bytes;
  auto q = query.bytes();
  out[0] = q[0];
  out[1] = q[1];
  // The client's spelling of the question (0x20 case randomisation).
  auto qn = query.first_question();
  if (qn) {
    auto w = qn->name.wire();
    if (out.size() >= wire::kHeaderSize + w.size()) {
      bool same = true;
      for (size_t i = 0; i < w.size() && same; ++i) same = fold(out[wire::kHeaderSize + i]) == fold(w[i]);
      if (same) std::memcpy(out.data() + wire::kHeaderSize, w.data(), w.size());
    }
  }
  auto age = static_cast<uint32_t>(std::chrono::duration_cast<seconds>(now - it->second.stored).count());
  if (age > 0)
    for (auto [off, ttl] : it->second.ttls) store32(out, off, ttl > age ? ttl - age : 0);
  return out;
}

void Cache::erase(std::unordered_map<std::string, Entry>::iterator it) {
  order_.erase(it->second.order);
  map_.erase(it);
}

void Cache::clear() {
  map_.clear();
  order_.clear();
}

}  // namespace netd::dns
