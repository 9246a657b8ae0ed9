#include "dns/wire/message.h"

#include <algorithm>

namespace netd::dns::wire {

Expected<MessageView, WireError> MessageView::parse(std::span<const std::byte> b) {
  if (b.size() < kHeaderSize) return unexpected(WireError::Truncated);
  MessageView v(b);
  Header h = v.header();
  size_t pos = kHeaderSize;
  for (unsigned i = 0; i < h.qdcount; ++i) {
    auto n = decode_name(b, pos);
    if (!n) return unexpected(n.error());
    pos = n->next;
    if (pos + 4 > b.size()) return unexpected(WireError::Truncated);
    pos += 4;
  }
  v.q_end_ = pos;
  const unsigned total = unsigned{h.ancount} + h.nscount + h.arcount;
  for (unsigned i = 0; i < total; ++i) {
    auto n = decode_name(b, pos);
    if (!n) return unexpected(n.error());
    size_t fixed = n->next;
    if (fixed + 10 > b.size()) return unexpected(WireError::Truncated);
    uint16_t rtype = load16(b, fixed);
    size_t rdlen = load16(b, fixed + 8);
    if (fixed + 10 + rdlen > b.size()) return unexpected(WireError::Truncated);
    if (rtype == type::OPT) {
      bool additional = i >= unsigned{h.ancount} + h.nscount;
      if (!additional || v.opt_off_ != 0 || n->name.size() != 1) return unexpected(WireError::BadOpt);
      v.opt_off_ = fixed;
    }
    pos = fixed + 10 + rdlen;
  }
  v.end_ = pos;
  return v;
}

Header read_header(std::span<const std::byte> b) {
  Header h;
  h.id = load16(b, 0);
  h.flags = load16(b, 2);
  h.qdcount = load16(b, 4);
  h.ancount = load16(b, 6);
  h.nscount = load16(b, 8);
  h.arcount = load16(b, 10);
  return h;
}

Header MessageView::header() const { return read_header(b_); }

std::optional<Question> MessageView::first_question() const {
  if (header().qdcount == 0) return std::nullopt;
  auto n = decode_name(b_, kHeaderSize);
  if (!n) return std::nullopt;   // cannot happen after parse
  Question q;
  q.name = n->name;
  q.qtype = load16(b_, n->next);
  q.qclass = load16(b_, n->next + 2);
  return q;
}

void MessageView::for_each_record(const std::function<void(const Record&)>& fn) const {
  Header h = header();
  size_t pos = q_end_;
  const unsigned total = unsigned{h.ancount} + h.nscount + h.arcount;
  for (unsigned i = 0; i < total; ++i) {
    auto n = decode_name(b_, pos);
    if (!n) return;   // cannot happen after parse
    size_t fixed = n->next;
    Record r;
    r.section = i < h.ancount ? Section::Answer
                : i < unsigned{h.ancount} + h.nscount ? Section::Authority
                                                      : Section::Additional;
    r.name = n->name;
    r.rtype = load16(b_, fixed);
    r.rclass = load16(b_, fixed + 2);
    r.ttl = load32(b_, fixed + 4);
    size_t rdlen = load16(b_, fixed + 8);
    r.rdata_offset = fixed + 10;
    r.rdata = b_.subspan(fixed + 10, rdlen);
    fn(r);
    pos = fixed + 10 + rdlen;
  }
}

uint16_t MessageView::opt_udp_size() const { return opt_off_ ? load16(b_, opt_off_ + 2) : 0; }
uint8_t MessageView::opt_version() const {
  return opt_off_ ? std::to_integer<uint8_t>(b_[opt_off_ + 5]) : 0;
}
bool MessageView::opt_do() const {
  return opt_off_ && (std::to_integer<unsigned>(b_[opt_off_ + 6]) & 0x80);
}
size_t MessageView::max_udp_reply() const {
  if (!opt_off_) return kMaxUdpPlain;
  return std::clamp<size_t>(opt_udp_size(), kMaxUdpPlain, 4096);
}

}  // namespace netd::dns::wire
