// The pesto protocol codec: fixed bytes decoded field by field, the same
// messages encoded byte for byte, every truncation reported as Truncated,
// and each malformed field rejected.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "portfwd/fwd_spec.h"
#include "portfwd/pesto_wire.h"

namespace netd::portfwd::pesto {
namespace {

// Hex digits to bytes; blanks are ignored, "z<N>;" stands for N zero bytes.
std::vector<std::byte> hex(const std::string& s) {
  std::vector<std::byte> out;
  auto nibble = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (size_t i = 0; i < s.size();) {
    if (s[i] == ' ' || s[i] == '\n') {
      ++i;
    } else if (s[i] == 'z') {
      size_t end = s.find(';', i);
      out.resize(out.size() + std::stoul(s.substr(i + 1, end - i - 1)));
      i = end + 1;
    } else {
      out.push_back(static_cast<std::byte>(nibble(s[i]) << 4 | nibble(s[i + 1])));
      i += 2;
    }
  }
  return out;
}

// What pasta (passt 2026-07) sent on its -c socket when started with
// `-t 127.0.0.1/18080 -u 127.0.0.1/15353 -T none -U none`: 407 bytes.
const std::string kPastaGreeting =
    "626173696c3a7300 00000002 00000080 00000010"  // "basil:s\0", version 2, 128, 16
    "01 484f5354 z124; 0000003f 00000002"           // pif 1 "HOST", caps 0x3f, 2 rules
    "00000000000000000000ffff7f000001 z16; z16; 46a0 46a0 46a0 06 00"  // TCP 127.0.0.1:18080
    "00000000000000000000ffff7f000001 z16; z16; 3bf9 3bf9 3bf9 11 00"  // UDP 127.0.0.1:15353
    "03 53504c494345 z122; 0000003f 00000000"       // pif 3 "SPLICE", caps 0x3f, no rules
    "00";                                            // end

// The same dump as captured, in one piece.
const std::string kPastaGreetingRaw =
    "626173696c3a730000000002000000800000001001484f535400000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000003f0000000200000000000000000000ff"
    "ff7f000001000000000000000000000000000000000000000000000000000000000000000046a046a046a0060000000000000000000000ff"
    "ff7f00000100000000000000000000000000000000000000000000000000000000000000003bf93bf93bf911000353504c49434500000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000003f0000000000";

FwdTables pasta_tables() {
  FwdTables t;
  t.inbound.caps = t.outbound.caps = FwdCap::kAll;
  EXPECT_TRUE(apply_port_spec('t', "127.0.0.1/18080", SpecAction::Add, t.inbound));
  EXPECT_TRUE(apply_port_spec('u', "127.0.0.1/15353", SpecAction::Add, t.inbound));
  return t;
}

template <class T>
void expect_every_prefix_truncated(const std::vector<std::byte>& msg, T decode) {
  for (size_t n = 0; n < msg.size(); ++n) {
    auto d = decode(std::span(msg.data(), n));
    ASSERT_EQ(d.status, DecodeStatus::Truncated) << "prefix of " << n << " bytes: " << d.error;
  }
}

TEST(PestoWire, Sizes) {
  EXPECT_EQ(kHelloSize, 20u);
  EXPECT_EQ(kPifInfoSize, 136u);
  EXPECT_EQ(kRuleSize, 56u);
  EXPECT_EQ(hex(kPastaGreeting), hex(kPastaGreetingRaw));
  EXPECT_EQ(hex(kPastaGreeting).size(), 407u);
}

TEST(PestoWire, DecodesPastasGreeting) {
  auto bytes = hex(kPastaGreeting);
  auto d = decode_server_message(bytes);
  ASSERT_EQ(d.status, DecodeStatus::Complete) << d.error;
  EXPECT_EQ(d.size, bytes.size());
  ASSERT_EQ(d.value.size(), 2u);
  const auto& host = d.value[0];
  EXPECT_EQ(host.pif, kPifHost);
  EXPECT_EQ(host.name, "HOST");
  EXPECT_EQ(host.table.caps, FwdCap::kAll);
  ASSERT_EQ(host.table.rules.size(), 2u);
  const FwdRule& tcp = host.table.rules[0];
  EXPECT_EQ(tcp.proto, Proto::Tcp);
  EXPECT_FALSE(tcp.any_address);
  EXPECT_TRUE(tcp.addr.is_v4());
  EXPECT_EQ(tcp.addr.to_string(), "127.0.0.1");
  EXPECT_FALSE(tcp.has_target());
  EXPECT_EQ(tcp.first, 18080);
  EXPECT_EQ(tcp.last, 18080);
  EXPECT_EQ(tcp.to, 18080);
  EXPECT_TRUE(tcp.ifname.empty());
  EXPECT_FALSE(tcp.weak || tcp.scan);
  EXPECT_EQ(host.table.rules[1].to_string(), "UDP [127.0.0.1]:15353  =>  15353 ");
  EXPECT_EQ(d.value[1].pif, kPifSplice);
  EXPECT_EQ(d.value[1].name, "SPLICE");
  EXPECT_TRUE(d.value[1].table.rules.empty());
  // Trailing bytes (none are expected) are not part of the message.
  bytes.push_back(std::byte{0x42});
  EXPECT_EQ(decode_server_message(bytes).size, bytes.size() - 1);
}

TEST(PestoWire, EncodesPastasGreetingByteForByte) {
  EXPECT_EQ(encode_server_message(announce(pasta_tables())), hex(kPastaGreeting));
}

TEST(PestoWire, ServerMessageTruncations) {
  expect_every_prefix_truncated(hex(kPastaGreeting), [](auto b) { return decode_server_message(b); });
}

TEST(PestoWire, RuleFieldsAndFlags) {
  FwdRule r;
  r.proto = Proto::Udp;
  r.addr = *net::IpAddr::parse("2001:db8::1");
  r.target = *net::IpAddr::parse("2001:db8::2");
  r.ifname = "eth0";
  r.first = 1000;
  r.last = 1009;
  r.to = 2000;
  r.weak = true;
  r.scan = true;
  std::vector<std::byte> out;
  append_rule(out, r);
  EXPECT_EQ(out, hex("20010db8000000000000000000000001 20010db8000000000000000000000002 65746830 z12;"
                     "03e8 03f1 07d0 11 06"));
  auto d = decode_rule(out);
  ASSERT_EQ(d.status, DecodeStatus::Complete);
  EXPECT_EQ(d.value, r);
  FwdRule any;
  any.any_address = true;
  any.first = any.last = any.to = 22;
  out.clear();
  append_rule(out, any);
  EXPECT_EQ(out, hex("z48; 0016 0016 0016 06 01"));
  expect_every_prefix_truncated(out, [](auto b) { return decode_rule(b); });
}

TEST(PestoWire, MalformedRules) {
  auto rule = hex("z48; 0016 0016 0016 06 01");
  auto with = [&](size_t off, uint8_t v) {
    auto b = rule;
    b[off] = std::byte{v};
    return decode_rule(b);
  };
  EXPECT_EQ(with(54, 1).status, DecodeStatus::Malformed);  // ICMP
  EXPECT_EQ(with(54, 1).error, "unsupported IP protocol 1");
  EXPECT_EQ(with(55, 9).status, DecodeStatus::Malformed);
  EXPECT_EQ(with(55, 9).error, "unknown rule flags 9");
  EXPECT_EQ(with(47, 'x').error, "interface name is not NUL-terminated");
  // Bytes after the terminating NUL are not part of the name.
  auto tail = with(40, 'x');
  ASSERT_EQ(tail.status, DecodeStatus::Complete);
  EXPECT_EQ(tail.value.ifname, "");
}

TEST(PestoWire, MalformedServerMessages) {
  const auto good = hex(kPastaGreeting);
  auto with = [&](size_t off, std::vector<std::byte> patch) {
    auto b = good;
    std::copy(patch.begin(), patch.end(), b.begin() + static_cast<long>(off));
    return decode_server_message(b);
  };
  auto error = [&](size_t off, const char* patch) {
    auto d = with(off, hex(patch));
    EXPECT_EQ(d.status, DecodeStatus::Malformed) << off << " " << patch;
    return d.error;
  };
  EXPECT_NE(error(0, "42").find("bad magic number"), std::string::npos);
  EXPECT_NE(error(7, "20").find("bad magic number"), std::string::npos);
  EXPECT_NE(error(8, "00000000").find("experimental protocol version (0)"), std::string::npos);
  EXPECT_NE(error(8, "00000001").find("protocol version 1, this client 2"), std::string::npos);
  EXPECT_NE(error(8, "00000003").find("protocol version 3"), std::string::npos);
  EXPECT_NE(error(12, "00000040").find("pif name size 64, not 128"), std::string::npos);
  EXPECT_NE(error(16, "00000020").find("IFNAMSIZ 32, not 16"), std::string::npos);
  EXPECT_NE(error(20 + 1 + 127, "41").find("is not NUL-terminated"), std::string::npos);
  EXPECT_NE(error(20 + 1 + 132, "00000100").find("has 256 rules (at most 255)"), std::string::npos);
  EXPECT_NE(error(20 + 1 + 132 + 4 + 54, "01").find("table HOST, rule 1: unsupported IP protocol 1"),
            std::string::npos);
  const size_t splice = 20 + 1 + 136 + 2 * 56;
  EXPECT_NE(error(splice, "01").find("pif 1 appears twice"), std::string::npos);
  EXPECT_NE(error(splice + 1, "484f535400").find("table name HOST appears twice"), std::string::npos);
  // A fourth table is more than a client manages.
  auto four = encode_server_message({PifTable{1, "A", {}}, PifTable{2, "B", {}}, PifTable{3, "C", {}},
                                     PifTable{4, "D", {}}});
  auto d = decode_server_message(four);
  ASSERT_EQ(d.status, DecodeStatus::Malformed);
  EXPECT_NE(d.error.find("more than 3 tables"), std::string::npos);
}

// pesto's answer after `pesto -A -t 127.0.0.1/18081` against kPastaGreeting.
const std::string kClientUpdate =
    "01 00000003"
    "00000000000000000000ffff7f000001 z16; z16; 46a0 46a0 46a0 06 00"
    "00000000000000000000ffff7f000001 z16; z16; 3bf9 3bf9 3bf9 11 00"
    "00000000000000000000ffff7f000001 z16; z16; 46a1 46a1 46a1 06 00"
    "03 00000000"
    "00";

TEST(PestoWire, ClientMessageRoundTrip) {
  auto tables = announce(pasta_tables());
  ASSERT_TRUE(apply_port_spec('t', "127.0.0.1/18081", SpecAction::Add, tables[0].table));
  auto bytes = encode_client_message(tables);
  EXPECT_EQ(bytes, hex(kClientUpdate));
  EXPECT_EQ(frame_client_message(bytes), DecodeStatus::Complete);
  auto d = decode_client_message(bytes);
  ASSERT_EQ(d.status, DecodeStatus::Complete) << d.error;
  EXPECT_EQ(d.size, bytes.size());
  ASSERT_EQ(d.value.size(), 2u);
  EXPECT_EQ(d.value[0].pif, kPifHost);
  EXPECT_EQ(d.value[0].rules, tables[0].table.rules);
  EXPECT_EQ(d.value[1].pif, kPifSplice);
  EXPECT_TRUE(d.value[1].rules.empty());
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::span<const std::byte> prefix(bytes.data(), n);
    ASSERT_EQ(frame_client_message(prefix), DecodeStatus::Truncated) << n;
    ASSERT_EQ(decode_client_message(prefix).status, DecodeStatus::Truncated) << n;
  }
  // "Nothing to change" is a lone end marker.
  auto empty = decode_client_message(hex("00"));
  ASSERT_EQ(empty.status, DecodeStatus::Complete);
  EXPECT_TRUE(empty.value.empty());
}

TEST(PestoWire, MalformedClientMessages) {
  auto error = [](const char* h) {
    auto b = hex(h);
    EXPECT_NE(frame_client_message(b), DecodeStatus::Truncated) << h;
    auto d = decode_client_message(b);
    EXPECT_EQ(d.status, DecodeStatus::Malformed) << h;
    return d.error;
  };
  EXPECT_EQ(error("04 00000000 00"), "rules for pif 4, which does not exist");
  EXPECT_EQ(error("ff"), "rules for pif 255, which does not exist");
  EXPECT_EQ(error("01 00000000 01 00000000 00"), "rules for pif 1 twice");
  EXPECT_EQ(error("01 00000100"), "256 rules for pif 1 (at most 255)");
  EXPECT_EQ(error("01 ffffffff"), "4294967295 rules for pif 1 (at most 255)");
  EXPECT_EQ(error("01 00000001 z48; 0016 0016 0016 06 80 00"), "pif 1, rule 1: unknown rule flags 128");
  // The framing sees the impossible counts and ids at once.
  EXPECT_EQ(frame_client_message(hex("01 ffffffff")), DecodeStatus::Malformed);
  EXPECT_EQ(frame_client_message(hex("07")), DecodeStatus::Malformed);
  EXPECT_EQ(frame_client_message(hex("01 00000000 02 00000000 03 00000000 01")), DecodeStatus::Malformed);
}

TEST(PestoWire, UpdateBecomesTables) {
  FwdTables current = pasta_tables();
  auto update = decode_client_message(hex(kClientUpdate));
  ASSERT_EQ(update.status, DecodeStatus::Complete);
  auto next = tables_from_update(update.value, current);
  ASSERT_TRUE(next) << next.error();
  EXPECT_EQ(next->inbound.rules.size(), 3u);
  EXPECT_EQ(next->inbound.caps, FwdCap::kAll);
  EXPECT_TRUE(next->outbound.rules.empty());
  // A table the client left out becomes empty.
  auto only_splice = tables_from_update({PifRules{kPifSplice, {}}}, current);
  ASSERT_TRUE(only_splice);
  EXPECT_TRUE(only_splice->inbound.rules.empty());
  // pasta's checks apply to what the client sends.
  auto dup = update.value;
  dup[0].rules.push_back(dup[0].rules[0]);
  auto conflict = tables_from_update(dup, current);
  ASSERT_FALSE(conflict);
  EXPECT_NE(conflict.error().find("conflicts with rule TCP [127.0.0.1]:18080"), std::string::npos);
  auto tap = tables_from_update({PifRules{kPifTap, {}}}, current);
  ASSERT_FALSE(tap);
  EXPECT_EQ(tap.error(), "rules for pif 2, which has no table");
  FwdTables v4only = current;
  v4only.inbound.caps = FwdCap::kIpv4 | FwdCap::kTcp | FwdCap::kUdp;
  FwdRule v6 = update.value[0].rules[0];
  v6.addr = *net::IpAddr::parse("::1");
  auto family = tables_from_update({PifRules{kPifHost, {v6}}}, v4only);
  ASSERT_FALSE(family);
  EXPECT_NE(family.error().find("IPv6 is not enabled"), std::string::npos);
}

TEST(PestoWire, LargestMessagesFit) {
  FwdTables t;
  t.inbound.caps = t.outbound.caps = FwdCap::kAll;
  for (int i = 1; i <= 255; ++i) {
    ASSERT_TRUE(apply_port_spec('t', std::to_string(i), SpecAction::Add, t.inbound));
    ASSERT_TRUE(apply_port_spec('T', std::to_string(i), SpecAction::Add, t.outbound));
  }
  auto pifs = announce(t);
  pifs.push_back(PifTable{kPifTap, "TAP", t.inbound});
  auto server = encode_server_message(pifs);
  EXPECT_EQ(server.size(), kMaxServerMessage);
  EXPECT_EQ(decode_server_message(server).status, DecodeStatus::Complete);
  auto client = encode_client_message(pifs);
  EXPECT_EQ(client.size(), kMaxClientMessage);
  EXPECT_EQ(decode_client_message(client).status, DecodeStatus::Complete);
}

}  // namespace
}  // namespace netd::portfwd::pesto
