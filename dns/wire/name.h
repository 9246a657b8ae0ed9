// DNS names on the wire (RFC 1035 §3.1, §4.1.4).
//
// Theory of operation: a name in a message is a sequence of length-prefixed
// labels ending in the root label (0), possibly ending instead in a
// compression pointer (two bytes, top bits 11) to an earlier name. decode_name
// follows pointers and produces the *uncompressed* wire form in a fixed
// 255-byte buffer (Name), so nothing downstream ever sees a pointer again.
// Rejected: pointers that do not point strictly backwards (this rules out
// loops and forward references, so decoding always terminates), labels over 63
// bytes, the reserved label types 01/10, names over 255 bytes, and any byte
// past the end of the message. Text form: labels joined by '.', bytes that
// would be ambiguous ('.', '\\', non-printable) escaped as \DDD; the root is ".".
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/expected.h"

namespace netd::dns::wire {

enum class WireError {
  Truncated,      // a field runs past the end of the message
  BadPointer,     // compression pointer not strictly backwards (loop / forward)
  LabelTooLong,   // label over 63 bytes (or a reserved label type)
  NameTooLong,    // name over 255 bytes
  BadName,        // text name that cannot be encoded (empty label, ...)
  BadOpt,         // OPT record in the wrong place, with a name, or twice
  TooLarge,       // a built message would exceed 65535 bytes
};
const char* to_string(WireError e);

constexpr size_t kMaxNameLen = 255;
constexpr size_t kMaxLabelLen = 63;

// An uncompressed name in wire form (labels + root label), at most 255 bytes.
class Name {
 public:
  Name() { b_[0] = std::byte{0}; len_ = 1; }   // the root name
  // "a.b.c" or "a.b.c." (a trailing dot is optional; "" and "." are the root).
  // Rejects empty labels, labels over 63 bytes, names over 255 bytes.
  static Expected<Name, WireError> from_text(std::string_view text);
  // Builds from wire bytes that are already uncompressed and checked (used by
  // decode_name). Returns BadName if `w` is not exactly one well-formed name.
  static Expected<Name, WireError> from_wire(std::span<const std::byte> w);

  std::span<const std::byte> wire() const { return {b_.data(), len_}; }
  size_t size() const { return len_; }
  size_t label_count() const;
  // Dotted text without the trailing dot ("." for the root), case preserved.
  std::string text() const;
  // The same, ASCII-lowercased: the key for case-insensitive lookups.
  std::string lower_text() const;
  // Case-insensitive comparison (RFC 4343).
  bool equals(const Name& o) const;

 private:
  std::array<std::byte, kMaxNameLen> b_{};
  size_t len_ = 0;
};

struct DecodedName {
  Name name;
  size_t next = 0;   // offset just past the name where it started (not where pointers led)
};

// Decodes the name at `offset` in `msg`. Never reads outside `msg`.
Expected<DecodedName, WireError> decode_name(std::span<const std::byte> msg, size_t offset);

}  // namespace netd::dns::wire
