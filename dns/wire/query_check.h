// Which bytes a guest may send through netd's DNS address to an upstream
// server: standard queries only, over UDP and TCP alike.
//
// Theory of operation: the upstream may sit on the host's loopback (e.g.
// systemd-resolved's 127.0.0.53), which the guest is otherwise kept away
// from, so the DNS address must not become a pipe for arbitrary bytes to it.
// One rule decides for both transports: a message goes on only if its header
// says "standard query" (QR clear, opcode QUERY, exactly one question).
//  - UDP: the whole datagram is one message, so is_plain_query() also parses
//    it completely (MessageView) before it is relayed.
//  - TCP (RFC 1035 4.2.2: each message behind a 2-byte length): the bytes
//    are carried as a stream, so TcpQueryStream checks them as they pass:
//    every length must leave room for a header and a question, and every
//    header must be a standard query. feed() is prefix-closed: it rejects at
//    the first byte that cannot continue such a stream, so everything it
//    accepted is a prefix of a stream of well-framed standard queries. (The
//    question itself is not parsed over TCP: the start of a message may
//    reach the upstream before its end has arrived.)
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "dns/wire/message.h"

namespace netd::dns::wire {

// The smallest query: a header and a question for the root name (1 byte of
// name, 2 of type, 2 of class).
constexpr size_t kMinQuerySize = kHeaderSize + 5;

// QR clear, opcode QUERY (0), one question.
bool is_standard_query(const Header& h);
// A whole UDP message: parsable and a standard query.
bool is_plain_query(std::span<const std::byte> b);

// Checks a DNS-over-TCP byte stream from a client, piece by piece.
class TcpQueryStream {
 public:
  // Feeds the next bytes of the stream. Returns false if they cannot
  // continue a stream of standard queries (and from then on, always).
  bool feed(std::span<const std::byte> bytes);
  bool ok() const { return !bad_; }
  // True between messages (no partial length, header or body pending).
  bool at_boundary() const { return part_ == Part::Length && have_ == 0; }

 private:
  enum class Part : uint8_t { Length, Header, Body };
  Part part_ = Part::Length;
  size_t have_ = 0;                         // bytes of the length or header gathered
  std::array<std::byte, kHeaderSize> buf_{};
  size_t length_ = 0;                       // the current message's length
  size_t body_left_ = 0;                    // bytes after its header still to come
  bool bad_ = false;
};

}  // namespace netd::dns::wire
