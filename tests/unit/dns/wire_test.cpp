// Fixed-byte tests of dns/wire: names (compression, loops, limits), message
// parsing (every truncation), reply building, EDNS echo, make_servfail, and
// the query check of the guest's DNS address (query_check.h).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dns/wire/builder.h"
#include "dns/wire/message.h"
#include "dns/wire/name.h"
#include "dns/wire/query_check.h"

using namespace netd::dns::wire;

namespace {
std::vector<std::byte> B(std::initializer_list<int> v) {
  std::vector<std::byte> o;
  for (int x : v) o.push_back(static_cast<std::byte>(x));
  return o;
}
void append(std::vector<std::byte>& o, std::initializer_list<int> v) {
  for (int x : v) o.push_back(static_cast<std::byte>(x));
}
// A query for "Web.Example" A, id 0xBEEF, RD, with an OPT RR (size 4096, DO).
std::vector<std::byte> query_with_opt() {
  auto q = B({0xBE, 0xEF, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1,
              3, 'W', 'e', 'b', 7, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1,
              0, 0, 41, 0x10, 0x00, 0, 0, 0x80, 0, 0, 0});
  return q;
}
}  // namespace

TEST(WireName, DecodesPlainName) {
  auto m = B({3, 'f', 'o', 'o', 2, 'b', 'r', 0});
  auto n = decode_name(m, 0);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->name.text(), "foo.br");
  EXPECT_EQ(n->next, 8u);
  EXPECT_EQ(n->name.label_count(), 2u);
}

TEST(WireName, FollowsBackwardPointer) {
  auto m = B({3, 'f', 'o', 'o', 0, 3, 'w', 'w', 'w', 0xC0, 0});
  auto n = decode_name(m, 5);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->name.text(), "www.foo");
  EXPECT_EQ(n->next, 11u);   // after the pointer, not after the target
}

TEST(WireName, RejectsSelfPointer) {
  auto m = B({0xC0, 0x00});
  EXPECT_EQ(decode_name(m, 0).error(), WireError::BadPointer);
}

TEST(WireName, RejectsForwardPointer) {
  auto m = B({0xC0, 0x02, 3, 'f', 'o', 'o', 0});
  EXPECT_EQ(decode_name(m, 0).error(), WireError::BadPointer);
}

TEST(WireName, RejectsPointerLoopThroughTwoNames) {
  // name at 0: "a" + pointer to 4; name at 4: "b" + pointer to 0.
  auto m = B({1, 'a', 0xC0, 0x04, 1, 'b', 0xC0, 0x00});
  EXPECT_FALSE(decode_name(m, 4));
  EXPECT_FALSE(decode_name(m, 0));
}

TEST(WireName, RejectsLabelOver63AndReservedTypes) {
  std::vector<std::byte> m{std::byte{64}};
  m.resize(66, std::byte{'a'});
  m.push_back(std::byte{0});
  EXPECT_FALSE(decode_name(m, 0));
  EXPECT_EQ(decode_name(B({0x40, 0}), 0).error(), WireError::LabelTooLong);
  EXPECT_EQ(decode_name(B({0x80, 0}), 0).error(), WireError::LabelTooLong);
}

TEST(WireName, RejectsNamesOver255ButAccepts255) {
  // 4 labels of 63 = 256 bytes with lengths + root = 257 > 255.
  std::vector<std::byte> m;
  for (int i = 0; i < 4; ++i) {
    m.push_back(std::byte{63});
    m.insert(m.end(), 63, std::byte{'x'});
  }
  m.push_back(std::byte{0});
  EXPECT_EQ(decode_name(m, 0).error(), WireError::NameTooLong);
  // 3*64 + 62 + 1 = 255
  std::vector<std::byte> ok;
  for (int i = 0; i < 3; ++i) {
    ok.push_back(std::byte{63});
    ok.insert(ok.end(), 63, std::byte{'x'});
  }
  ok.push_back(std::byte{61});
  ok.insert(ok.end(), 61, std::byte{'y'});
  ok.push_back(std::byte{0});
  ASSERT_EQ(ok.size(), 255u);
  auto n = decode_name(ok, 0);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->name.size(), 255u);
}

TEST(WireName, LongNameViaPointersStillLimited) {
  // Chain of pointers building a name longer than 255 bytes.
  std::vector<std::byte> m;
  m.push_back(std::byte{0});   // root at 0
  size_t prev = 0;
  for (int i = 0; i < 6; ++i) {
    size_t here = m.size();
    m.push_back(std::byte{60});
    m.insert(m.end(), 60, std::byte{'z'});
    m.push_back(static_cast<std::byte>(0xC0 | (prev >> 8)));
    m.push_back(static_cast<std::byte>(prev & 0xFF));
    prev = here;
  }
  EXPECT_EQ(decode_name(m, prev).error(), WireError::NameTooLong);
}

TEST(WireName, TruncatedEverywhere) {
  auto m = B({3, 'f', 'o', 'o', 2, 'b', 'r', 0});
  for (size_t len = 0; len < m.size(); ++len)
    EXPECT_FALSE(decode_name(std::span(m).first(len), 0)) << len;
  auto p = B({3, 'f', 'o', 'o', 0, 0xC0});
  EXPECT_EQ(decode_name(p, 5).error(), WireError::Truncated);
}

TEST(WireName, TextEscapesAndLowercases) {
  auto m = B({3, 'A', '.', 'b', 2, 0x01, 'Z', 0});
  auto n = decode_name(m, 0);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->name.text(), "A\\046b.\\001Z");
  EXPECT_EQ(n->name.lower_text(), "a\\046b.\\001z");
}

TEST(WireName, FromTextAndEquals) {
  auto a = Name::from_text("Foo.Dns.Podman.");
  auto b = Name::from_text("foo.dns.podman");
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(a->equals(*b));
  EXPECT_EQ(a->size(), 16u);
  EXPECT_EQ(Name::from_text(".")->size(), 1u);
  EXPECT_FALSE(Name::from_text("a..b"));
  EXPECT_FALSE(Name::from_text(std::string(64, 'a')));
  EXPECT_TRUE(Name::from_text(std::string(63, 'a')));
}

TEST(WireMessage, ParsesQueryWithOpt) {
  auto q = query_with_opt();
  auto v = MessageView::parse(q);
  ASSERT_TRUE(v);
  auto h = v->header();
  EXPECT_EQ(h.id, 0xBEEF);
  EXPECT_TRUE(h.rd());
  EXPECT_FALSE(h.qr());
  auto question = v->first_question();
  ASSERT_TRUE(question);
  EXPECT_EQ(question->name.lower_text(), "web.example");
  EXPECT_EQ(question->qtype, type::A);
  EXPECT_TRUE(v->has_opt());
  EXPECT_EQ(v->opt_udp_size(), 4096);
  EXPECT_TRUE(v->opt_do());
  EXPECT_EQ(v->max_udp_reply(), 4096u);
}

TEST(WireMessage, EveryTruncationRejected) {
  auto q = query_with_opt();
  for (size_t len = 0; len < q.size(); ++len)
    EXPECT_FALSE(MessageView::parse(std::span(q).first(len))) << len;
}

TEST(WireMessage, RejectsOptInAnswerAndTwice) {
  auto q = query_with_opt();
  q[7] = std::byte{1};    // ancount 1
  q[11] = std::byte{0};   // arcount 0 -> OPT now in the answer section
  EXPECT_EQ(MessageView::parse(q).error(), WireError::BadOpt);
  auto two = query_with_opt();
  two[11] = std::byte{2};
  append(two, {0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0});
  EXPECT_EQ(MessageView::parse(two).error(), WireError::BadOpt);
}

TEST(WireMessage, ParsesCompressedResponseRecords) {
  // Response to foo.example A with two answers, owners compressed to offset 12.
  auto r = B({0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,
              3, 'f', 'o', 'o', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1,
              0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1,
              0xC0, 12, 0, 1, 0, 1, 0, 0, 1, 0, 0, 4, 10, 0, 0, 2});
  auto v = MessageView::parse(r);
  ASSERT_TRUE(v);
  std::vector<uint32_t> ttls;
  v->for_each_record([&](const Record& rec) {
    EXPECT_EQ(rec.name.text(), "foo.example");
    EXPECT_EQ(rec.rdata.size(), 4u);
    ttls.push_back(rec.ttl);
  });
  EXPECT_EQ(ttls, (std::vector<uint32_t>{60, 256}));
  for (size_t len = 0; len < r.size(); ++len)
    EXPECT_FALSE(MessageView::parse(std::span(r).first(len))) << len;
  // A record whose rdlength runs past the end.
  r[r.size() - 5] = std::byte{5};
  EXPECT_EQ(MessageView::parse(r).error(), WireError::Truncated);
}

TEST(WireBuilder, AnswersWithPointerOwnerAndEchoesOpt) {
  auto q = query_with_opt();
  auto v = MessageView::parse(q);
  ASSERT_TRUE(v);
  ReplyBuilder b(*v, v->max_udp_reply());
  b.set_authoritative(true);
  ASSERT_TRUE(b.add_a(0, {10, 88, 0, 2}));
  ASSERT_TRUE(b.add_aaaa(5, {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}));
  auto out = b.finish();
  auto expect = B({0xBE, 0xEF, 0x85, 0x80, 0, 1, 0, 2, 0, 0, 0, 1,
                   3, 'W', 'e', 'b', 7, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1,
                   0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 10, 88, 0, 2,
                   0xC0, 12, 0, 28, 0, 1, 0, 0, 0, 5, 0, 16,
                   0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
                   0, 0, 41, 0x04, 0xD0, 0, 0, 0x80, 0, 0, 0});
  EXPECT_EQ(out, expect);
  EXPECT_TRUE(MessageView::parse(out));
}

TEST(WireBuilder, PtrAndTruncationAtLimit) {
  auto q = make_query(7, *Name::from_text("2.0.88.10.in-addr.arpa"), type::PTR);
  auto v = MessageView::parse(q);
  ASSERT_TRUE(v);
  ReplyBuilder b(*v, 512);
  auto target = *Name::from_text(std::string(60, 'n') + ".dns.podman");
  int added = 0;
  while (b.add_ptr(0, target)) ++added;
  EXPECT_TRUE(b.truncated());
  auto out = b.finish();
  EXPECT_LE(out.size(), 512u);
  auto r = MessageView::parse(out);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->header().tc());
  EXPECT_EQ(r->header().ancount, added);
}

TEST(WireBuilder, ErrorRepliesAndServfail) {
  auto q = query_with_opt();
  auto sf = make_servfail(q);
  ASSERT_TRUE(sf);
  auto v = MessageView::parse(*sf);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->header().id, 0xBEEF);
  EXPECT_TRUE(v->header().rd());
  EXPECT_TRUE(v->header().qr());
  EXPECT_EQ(v->header().rcode(), Rcode::ServFail);
  EXPECT_EQ(v->first_question()->name.text(), "Web.Example");
  EXPECT_TRUE(v->has_opt());
  EXPECT_FALSE(make_servfail(std::span(q).first(5)));
  EXPECT_FALSE(make_servfail(*sf));   // a response is not a query

  auto nx = make_error_reply(*MessageView::parse(q), Rcode::NxDomain, true);
  auto n = MessageView::parse(nx);
  EXPECT_EQ(n->header().rcode(), Rcode::NxDomain);
  EXPECT_EQ(n->header().flags & flag::AA, flag::AA);
  EXPECT_EQ(n->header().ancount, 0);
}

TEST(WireBuilder, QueryWithoutQuestionStillGetsAReply) {
  auto q = B({0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  auto sf = make_servfail(q);
  ASSERT_TRUE(sf);
  EXPECT_EQ(sf->size(), 12u);
}

// ---- query_check: which messages the guest's DNS address carries upstream,
// over UDP (whole messages) and TCP (a stream checked piece by piece).
namespace {
// A query for "a.test" A, id 0x1234, RD.
std::vector<std::byte> plain_query() {
  return B({0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1});
}
// The message behind its 2-byte TCP length.
std::vector<std::byte> framed(const std::vector<std::byte>& m) {
  std::vector<std::byte> o = B({static_cast<int>(m.size() >> 8), static_cast<int>(m.size() & 0xff)});
  o.insert(o.end(), m.begin(), m.end());
  return o;
}
std::vector<std::byte> text(const std::string& s) {
  std::vector<std::byte> o;
  for (char c : s) o.push_back(static_cast<std::byte>(c));
  return o;
}
}  // namespace

TEST(QueryCheck, UdpPlainQueryPasses) { EXPECT_TRUE(is_plain_query(plain_query())); }

TEST(QueryCheck, UdpAnythingElseIsRefused) {
  auto response = plain_query();
  response[2] = std::byte{0x81};  // QR set
  auto notify = plain_query();
  notify[2] = std::byte{0x20};  // opcode 4 (NOTIFY)
  auto two = plain_query();
  two[5] = std::byte{2};  // two questions, one present
  auto none = plain_query();
  none[5] = std::byte{0};
  auto cut = plain_query();
  cut.resize(20);
  for (const auto& m : {response, notify, two, none, cut, text("GET / HTTP/1.0\r\n\r\n"), B({}), B({0, 0})})
    EXPECT_FALSE(is_plain_query(m));
}

TEST(QueryCheck, TcpStreamOfQueriesPassesWholeAndByteByByte) {
  auto stream = framed(plain_query());
  auto second = framed(plain_query());
  stream.insert(stream.end(), second.begin(), second.end());
  TcpQueryStream whole;
  EXPECT_TRUE(whole.feed(stream));
  EXPECT_TRUE(whole.at_boundary());
  TcpQueryStream bytewise;
  for (size_t i = 0; i < stream.size(); ++i) {
    ASSERT_TRUE(bytewise.feed(std::span(stream).subspan(i, 1))) << "byte " << i;
    EXPECT_EQ(bytewise.at_boundary(), i + 1 == stream.size() || i + 1 == stream.size() / 2) << "byte " << i;
  }
}

TEST(QueryCheck, TcpRejectsAtTheFirstBadByteAndStaysRejected) {
  // "GET / HTTP/1.0": length 0x4745, then a header whose flags 0x2f20 say opcode 5.
  TcpQueryStream http;
  EXPECT_TRUE(http.feed(text("GET"))) << "a length and the first header byte could start a query";
  EXPECT_FALSE(http.feed(text(" / HTTP/1.0\r\n")));
  EXPECT_FALSE(http.ok());
  EXPECT_FALSE(http.feed(plain_query())) << "sticky";

  auto response = plain_query();
  response[2] = std::byte{0x81};
  TcpQueryStream resp;
  EXPECT_FALSE(resp.feed(framed(response)));

  TcpQueryStream after_good;  // a good query, then a bad header
  auto s = framed(plain_query());
  auto bad = framed(response);
  s.insert(s.end(), bad.begin(), bad.end());
  EXPECT_FALSE(after_good.feed(s));
}

TEST(QueryCheck, TcpLengthMustHoldAHeaderAndAQuestion) {
  for (int len : {0, 1, 12, 16}) {
    TcpQueryStream st;
    EXPECT_FALSE(st.feed(B({0, len}))) << len;
  }
  TcpQueryStream ok;
  EXPECT_TRUE(ok.feed(B({0, 17})));
}

TEST(QueryCheck, TcpHeaderSplitAcrossPieces) {
  auto s = framed(plain_query());
  TcpQueryStream st;
  EXPECT_TRUE(st.feed(std::span(s).first(5)));
  EXPECT_TRUE(st.feed(std::span(s).subspan(5, 8)));
  EXPECT_FALSE(st.at_boundary());
  EXPECT_TRUE(st.feed(std::span(s).subspan(13)));
  EXPECT_TRUE(st.at_boundary());
}
