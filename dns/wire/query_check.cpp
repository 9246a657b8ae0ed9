#include "dns/wire/query_check.h"

#include <algorithm>

namespace netd::dns::wire {

bool is_standard_query(const Header& h) { return !h.qr() && h.opcode() == 0 && h.qdcount == 1; }

bool is_plain_query(std::span<const std::byte> b) {
  auto m = MessageView::parse(b);
  return m && is_standard_query(m->header()) && m->first_question().has_value();
}

bool TcpQueryStream::feed(std::span<const std::byte> bytes) {
  size_t i = 0;
  while (!bad_ && i < bytes.size()) {
    switch (part_) {
      case Part::Length:
        buf_[have_++] = bytes[i++];
        if (have_ < 2) break;
        length_ = load16(buf_, 0);
        if (length_ < kMinQuerySize) {
          bad_ = true;
          break;
        }
        part_ = Part::Header;
        have_ = 0;
        break;
      case Part::Header: {
        size_t n = std::min(kHeaderSize - have_, bytes.size() - i);
        std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(i), n, buf_.begin() + static_cast<std::ptrdiff_t>(have_));
        have_ += n;
        i += n;
        if (have_ < kHeaderSize) break;
        if (!is_standard_query(read_header(buf_))) {
          bad_ = true;
          break;
        }
        part_ = Part::Body;
        have_ = 0;
        body_left_ = length_ - kHeaderSize;  // > 0: length_ >= kMinQuerySize
        break;
      }
      case Part::Body: {
        size_t n = std::min(body_left_, bytes.size() - i);
        body_left_ -= n;
        i += n;
        if (body_left_ == 0) part_ = Part::Length;
        break;
      }
    }
  }
  return !bad_;
}

}  // namespace netd::dns::wire
