// A checked, non-owning view of one DNS message (RFC 1035 §4.1, RFC 6891 OPT).
//
// Theory of operation: MessageView::parse walks the whole message once —
// header, every question, every resource record of the three RR sections —
// and checks every name (see name.h) and every RDLENGTH against the buffer.
// Only then does it hand out a view, so the accessors below cannot read out of
// bounds and cannot fail; they decode on demand from the validated bytes.
// Bytes after the last record are ignored (some stacks pad). An OPT pseudo-RR
// is accepted once, in the additional section, with the root name; its
// offset is remembered so replies can echo EDNS. Byte order is converted here
// and nowhere else. Nothing here throws except std::bad_alloc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>

#include "common/expected.h"
#include "dns/wire/name.h"

namespace netd::dns::wire {

constexpr size_t kHeaderSize = 12;
constexpr size_t kMaxUdpPlain = 512;   // without EDNS (RFC 1035 §4.2.1)

namespace type {
constexpr uint16_t A = 1, NS = 2, CNAME = 5, SOA = 6, PTR = 12, MX = 15, TXT = 16, AAAA = 28,
                   SRV = 33, OPT = 41, ANY = 255;
}
constexpr uint16_t kClassIN = 1;

enum class Rcode : uint8_t { NoError = 0, FormErr = 1, ServFail = 2, NxDomain = 3, NotImp = 4, Refused = 5 };

namespace flag {
constexpr uint16_t QR = 0x8000, AA = 0x0400, TC = 0x0200, RD = 0x0100, RA = 0x0080;
constexpr uint16_t kOpcodeMask = 0x7800, kRcodeMask = 0x000F;
}

struct Header {
  uint16_t id = 0;
  uint16_t flags = 0;
  uint16_t qdcount = 0, ancount = 0, nscount = 0, arcount = 0;
  bool qr() const { return flags & flag::QR; }
  bool tc() const { return flags & flag::TC; }
  bool rd() const { return flags & flag::RD; }
  uint8_t opcode() const { return static_cast<uint8_t>((flags & flag::kOpcodeMask) >> 11); }
  Rcode rcode() const { return static_cast<Rcode>(flags & flag::kRcodeMask); }
};

struct Question {
  Name name;
  uint16_t qtype = 0;
  uint16_t qclass = 0;
};

enum class Section : uint8_t { Answer, Authority, Additional };

struct Record {
  Section section = Section::Answer;
  Name name;
  uint16_t rtype = 0;
  uint16_t rclass = 0;
  uint32_t ttl = 0;
  std::span<const std::byte> rdata;   // inside the message; names in it may be compressed
  size_t rdata_offset = 0;            // offset of rdata in the message (to decode names in it)
};

// Big-endian reads; the caller has checked the bounds (only view code calls these).
inline uint16_t load16(std::span<const std::byte> b, size_t off) {
  return static_cast<uint16_t>((std::to_integer<unsigned>(b[off]) << 8) | std::to_integer<unsigned>(b[off + 1]));
}
inline uint32_t load32(std::span<const std::byte> b, size_t off) {
  return (uint32_t{load16(b, off)} << 16) | load16(b, off + 2);
}

// The header in the first kHeaderSize bytes of `b` (the caller checked
// b.size() >= kHeaderSize: a parsed message, or a stream checker's buffer).
Header read_header(std::span<const std::byte> b);

class MessageView {
 public:
  static Expected<MessageView, WireError> parse(std::span<const std::byte> b);

  Header header() const;
  std::span<const std::byte> bytes() const { return b_; }
  // Bytes of the header and question section (what a reply echoes).
  size_t question_end() const { return q_end_; }
  size_t end() const { return end_; }   // end of the last record (<= bytes().size())

  // The first question, if any (queries in practice carry exactly one).
  std::optional<Question> first_question() const;
  // Calls fn for every record of the answer, authority and additional
  // sections in order (the OPT pseudo-RR included).
  void for_each_record(const std::function<void(const Record&)>& fn) const;

  bool has_opt() const { return opt_off_ != 0; }
  uint16_t opt_udp_size() const;   // the requestor's UDP payload size (0 without OPT)
  bool opt_do() const;             // the DNSSEC OK bit
  uint8_t opt_version() const;
  // Largest UDP reply the sender accepts: 512 without EDNS, else its size clamped to [512, 4096].
  size_t max_udp_reply() const;

 private:
  explicit MessageView(std::span<const std::byte> b) : b_(b) {}
  std::span<const std::byte> b_;
  size_t q_end_ = kHeaderSize;
  size_t end_ = kHeaderSize;
  size_t opt_off_ = 0;   // offset of the OPT RR's TYPE field; 0: none
};

}  // namespace netd::dns::wire
