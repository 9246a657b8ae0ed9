#include "dns/wire/builder.h"

#include <algorithm>

namespace netd::dns::wire {
namespace {
void put16(std::vector<std::byte>& o, uint16_t v) {
  o.push_back(static_cast<std::byte>(v >> 8));
  o.push_back(static_cast<std::byte>(v & 0xFF));
}
void put32(std::vector<std::byte>& o, uint32_t v) {
  put16(o, static_cast<uint16_t>(v >> 16));
  put16(o, static_cast<uint16_t>(v & 0xFFFF));
}
void set16(std::vector<std::byte>& o, size_t off, uint16_t v) {
  o[off] = static_cast<std::byte>(v >> 8);
  o[off + 1] = static_cast<std::byte>(v & 0xFF);
}
}  // namespace

ReplyBuilder::ReplyBuilder(const MessageView& query, size_t max_size)
    : max_size_(std::min<size_t>(max_size, 65535)) {
  Header qh = query.header();
  query_flags_ = qh.flags;
  query_opt_ = query.has_opt();
  query_do_ = query.opt_do();
  out_.reserve(std::min<size_t>(max_size_, 512));
  put16(out_, qh.id);
  put16(out_, 0);   // flags: filled by finish()
  put16(out_, 0);   // qdcount
  put16(out_, 0);
  put16(out_, 0);
  put16(out_, 0);
  if (auto q = query.first_question()) {
    auto w = q->name.wire();
    out_.insert(out_.end(), w.begin(), w.end());
    put16(out_, q->qtype);
    put16(out_, q->qclass);
    has_question_ = true;
    set16(out_, 4, 1);
  }
}

bool ReplyBuilder::add_answer(uint16_t rtype, uint32_t ttl, std::span<const std::byte> rdata) {
  if (!has_question_ || tc_) return false;
  size_t need = 2 + 10 + rdata.size();
  size_t reserve = query_opt_ ? kOptRrSize : 0;
  if (out_.size() + need + reserve > max_size_ || ancount_ == 0xFFFF) {
    tc_ = true;
    return false;
  }
  put16(out_, 0xC000 | kHeaderSize);   // owner: the question name
  put16(out_, rtype);
  put16(out_, kClassIN);
  put32(out_, ttl);
  put16(out_, static_cast<uint16_t>(rdata.size()));
  out_.insert(out_.end(), rdata.begin(), rdata.end());
  ++ancount_;
  return true;
}

bool ReplyBuilder::add_a(uint32_t ttl, const std::array<uint8_t, 4>& addr) {
  return add_answer(type::A, ttl, std::as_bytes(std::span(addr)));
}
bool ReplyBuilder::add_aaaa(uint32_t ttl, const std::array<uint8_t, 16>& addr) {
  return add_answer(type::AAAA, ttl, std::as_bytes(std::span(addr)));
}
bool ReplyBuilder::add_ptr(uint32_t ttl, const Name& target) {
  return add_answer(type::PTR, ttl, target.wire());
}

std::vector<std::byte> ReplyBuilder::finish() {
  uint16_t flags = flag::QR | flag::RA | (query_flags_ & (flag::kOpcodeMask | flag::RD)) |
                   static_cast<uint16_t>(rcode_);
  if (aa_) flags |= flag::AA;
  if (tc_) flags |= flag::TC;
  set16(out_, 2, flags);
  set16(out_, 6, ancount_);
  if (query_opt_) {
    out_.push_back(std::byte{0});   // root name
    put16(out_, type::OPT);
    put16(out_, kOurUdpPayload);
    put32(out_, query_do_ ? 0x8000u : 0u);   // ext-rcode 0, version 0, DO echoed
    put16(out_, 0);
    set16(out_, 10, 1);
  }
  return std::move(out_);
}

std::vector<std::byte> make_error_reply(const MessageView& query, Rcode rcode, bool authoritative) {
  ReplyBuilder b(query, 65535);
  b.set_rcode(rcode);
  b.set_authoritative(authoritative);
  return b.finish();
}

std::optional<std::vector<std::byte>> make_servfail(std::span<const std::byte> query) {
  auto v = MessageView::parse(query);
  if (!v || v->header().qr()) return std::nullopt;
  return make_error_reply(*v, Rcode::ServFail);
}

std::vector<std::byte> make_query(uint16_t id, const Name& name, uint16_t qtype, bool edns) {
  std::vector<std::byte> o;
  put16(o, id);
  put16(o, flag::RD);
  put16(o, 1);
  put16(o, 0);
  put16(o, 0);
  put16(o, edns ? 1 : 0);
  auto w = name.wire();
  o.insert(o.end(), w.begin(), w.end());
  put16(o, qtype);
  put16(o, kClassIN);
  if (edns) {
    o.push_back(std::byte{0});
    put16(o, type::OPT);
    put16(o, kOurUdpPayload);
    put32(o, 0);
    put16(o, 0);
  }
  return o;
}

}  // namespace netd::dns::wire
