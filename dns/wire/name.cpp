#include "dns/wire/name.h"

#include <cstring>

namespace netd::dns::wire {

const char* to_string(WireError e) {
  switch (e) {
    case WireError::Truncated: return "truncated";
    case WireError::BadPointer: return "bad compression pointer";
    case WireError::LabelTooLong: return "label too long";
    case WireError::NameTooLong: return "name too long";
    case WireError::BadName: return "bad name";
    case WireError::BadOpt: return "bad OPT record";
    case WireError::TooLarge: return "message too large";
  }
  return "?";
}

Expected<Name, WireError> Name::from_text(std::string_view text) {
  Name n;
  if (text.empty() || text == ".") return n;
  if (text.back() == '.') text.remove_suffix(1);
  size_t len = 0;
  while (true) {
    size_t dot = text.find('.');
    std::string_view label = text.substr(0, dot);
    if (label.empty()) return unexpected(WireError::BadName);
    if (label.size() > kMaxLabelLen) return unexpected(WireError::LabelTooLong);
    if (len + 1 + label.size() + 1 > kMaxNameLen) return unexpected(WireError::NameTooLong);
    n.b_[len++] = static_cast<std::byte>(label.size());
    std::memcpy(n.b_.data() + len, label.data(), label.size());
    len += label.size();
    if (dot == std::string_view::npos) break;
    text.remove_prefix(dot + 1);
  }
  n.b_[len++] = std::byte{0};
  n.len_ = len;
  return n;
}

Expected<Name, WireError> Name::from_wire(std::span<const std::byte> w) {
  if (w.empty() || w.size() > kMaxNameLen) return unexpected(WireError::BadName);
  size_t pos = 0;
  while (true) {
    if (pos >= w.size()) return unexpected(WireError::BadName);
    size_t l = std::to_integer<size_t>(w[pos]);
    if (l > kMaxLabelLen) return unexpected(WireError::BadName);
    if (l == 0) {
      if (pos + 1 != w.size()) return unexpected(WireError::BadName);
      break;
    }
    pos += 1 + l;
  }
  Name n;
  std::memcpy(n.b_.data(), w.data(), w.size());
  n.len_ = w.size();
  return n;
}

size_t Name::label_count() const {
  size_t count = 0;
  for (size_t pos = 0; pos < len_ && b_[pos] != std::byte{0};
       pos += 1 + std::to_integer<size_t>(b_[pos]))
    ++count;
  return count;
}

namespace {
void append_label_text(std::string& out, const std::byte* p, size_t l, bool lower) {
  for (size_t i = 0; i < l; ++i) {
    unsigned char c = std::to_integer<unsigned char>(p[i]);
    if (lower && c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c - 'A' + 'a');
    if (c == '.' || c == '\\' || c <= 0x20 || c >= 0x7f) {
      char esc[5];
      esc[0] = '\\';
      esc[1] = static_cast<char>('0' + c / 100);
      esc[2] = static_cast<char>('0' + (c / 10) % 10);
      esc[3] = static_cast<char>('0' + c % 10);
      esc[4] = 0;
      out += esc;
    } else {
      out += static_cast<char>(c);
    }
  }
}

std::string to_text(const std::byte* b, size_t len, bool lower) {
  std::string out;
  size_t pos = 0;
  while (pos < len && b[pos] != std::byte{0}) {
    size_t l = std::to_integer<size_t>(b[pos]);
    if (!out.empty()) out += '.';
    append_label_text(out, b + pos + 1, l, lower);
    pos += 1 + l;
  }
  return out.empty() ? std::string(".") : out;
}

unsigned char fold(std::byte b) {
  unsigned char c = std::to_integer<unsigned char>(b);
  return (c >= 'A' && c <= 'Z') ? static_cast<unsigned char>(c - 'A' + 'a') : c;
}
}  // namespace

std::string Name::text() const { return to_text(b_.data(), len_, false); }
std::string Name::lower_text() const { return to_text(b_.data(), len_, true); }

bool Name::equals(const Name& o) const {
  if (len_ != o.len_) return false;
  for (size_t i = 0; i < len_; ++i)
    if (fold(b_[i]) != fold(o.b_[i])) return false;   // length bytes are <= 63: never folded
  return true;
}

Expected<DecodedName, WireError> decode_name(std::span<const std::byte> msg, size_t offset) {
  std::array<std::byte, kMaxNameLen> buf;
  size_t len = 0;
  size_t pos = offset;
  size_t next = 0;          // set when the first pointer is followed
  bool jumped = false;
  // Every pointer goes strictly backwards, so the walk ends; the hop limit
  // is a second fence that costs nothing.
  for (int hops = 0; hops < 128;) {
    if (pos >= msg.size()) return unexpected(WireError::Truncated);
    unsigned b0 = std::to_integer<unsigned>(msg[pos]);
    if ((b0 & 0xC0) == 0xC0) {
      if (pos + 1 >= msg.size()) return unexpected(WireError::Truncated);
      size_t target = ((b0 & 0x3F) << 8) | std::to_integer<unsigned>(msg[pos + 1]);
      if (target >= pos) return unexpected(WireError::BadPointer);
      if (!jumped) next = pos + 2;
      jumped = true;
      pos = target;
      ++hops;
      continue;
    }
    if ((b0 & 0xC0) != 0) return unexpected(WireError::LabelTooLong);   // 01/10: reserved
    if (b0 == 0) {
      if (len + 1 > kMaxNameLen) return unexpected(WireError::NameTooLong);
      buf[len++] = std::byte{0};
      if (!jumped) next = pos + 1;
      DecodedName d;
      auto n = Name::from_wire({buf.data(), len});
      if (!n) return unexpected(n.error());
      d.name = *n;
      d.next = next;
      return d;
    }
    if (pos + 1 + b0 > msg.size()) return unexpected(WireError::Truncated);
    if (len + 1 + b0 + 1 > kMaxNameLen) return unexpected(WireError::NameTooLong);
    std::memcpy(buf.data() + len, msg.data() + pos, 1 + b0);
    len += 1 + b0;
    pos += 1 + b0;
  }
  return unexpected(WireError::BadPointer);
}

}  // namespace netd::dns::wire
