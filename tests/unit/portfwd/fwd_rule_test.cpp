// Forwarding rules and tables: the text pesto --show prints, address
// matching, and the checks of FwdTable::add()/remove() a spec cannot reach.
#include <gtest/gtest.h>

#include "portfwd/fwd_rule.h"

namespace netd::portfwd {
namespace {

net::IpAddr ip(const char* s) {
  auto a = net::IpAddr::parse(s);
  EXPECT_TRUE(a.has_value()) << s;
  return a.value_or(net::IpAddr{});
}

FwdRule any_rule(Proto p, uint16_t first, uint16_t last, uint16_t to) {
  FwdRule r;
  r.proto = p;
  r.any_address = true;
  r.first = first;
  r.last = last;
  r.to = to;
  return r;
}

FwdRule addr_rule(const char* addr, uint16_t first, uint16_t last) {
  FwdRule r;
  r.addr = ip(addr);
  r.first = first;
  r.last = last;
  r.to = first;
  return r;
}

TEST(FwdRule, ToStringLikePestoShow) {
  EXPECT_EQ(any_rule(Proto::Tcp, 22, 22, 22).to_string(), "TCP [*]:22  =>  22 ");
  EXPECT_EQ(any_rule(Proto::Udp, 8000, 8010, 9000).to_string(), "UDP [*]:8000-8010  =>  9000-9010 ");
  FwdRule r = addr_rule("127.0.0.1", 53, 53);
  r.ifname = "lo";
  r.weak = true;
  r.scan = true;
  EXPECT_EQ(r.to_string(), "TCP [127.0.0.1]%lo:53  =>  53  (best effort) (auto-scan)");
  FwdRule t = addr_rule("::", 80, 81);
  t.target = ip("fd00::2");
  t.to = 8080;
  EXPECT_EQ(t.to_string(), "TCP [::]:80-81  =>  fd00::2:8080-8081 ");
  EXPECT_EQ(t.to_last(), 8081);
  EXPECT_EQ(t.target_port(81), 8081);
}

TEST(FwdRule, MappedAddresses) {
  // A rule address's bytes are the form pasta stores: IPv4 as ::ffff:a.b.c.d.
  const std::array<uint8_t, 16> want{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1};
  EXPECT_EQ(ip("192.0.2.1").b, want);
  EXPECT_TRUE(ip("::ffff:1.2.3.4").is_v4());
  EXPECT_FALSE(ip("::").is_v4());
  EXPECT_EQ(ipv6_unspecified(), ip("::"));
  // The same IPv4 address written both ways is the same rule.
  EXPECT_EQ(addr_rule("::ffff:1.2.3.4", 1, 1), addr_rule("1.2.3.4", 1, 1));
  EXPECT_FALSE(addr_rule("::", 1, 1) == addr_rule("0.0.0.0", 1, 1));
}

TEST(FwdRule, AddressMatching) {
  FwdRule any = any_rule(Proto::Tcp, 10, 20, 10);
  EXPECT_TRUE(any.matches(Proto::Tcp, ip("192.0.2.1"), 10));
  EXPECT_TRUE(any.matches(Proto::Tcp, ip("2001:db8::1"), 20));
  EXPECT_FALSE(any.matches(Proto::Tcp, ip("192.0.2.1"), 21));
  EXPECT_FALSE(any.matches(Proto::Udp, ip("192.0.2.1"), 15));
  FwdRule v4any = addr_rule("0.0.0.0", 10, 10);
  EXPECT_TRUE(v4any.matches(Proto::Tcp, ip("127.0.0.1"), 10));
  EXPECT_FALSE(v4any.matches(Proto::Tcp, ip("::1"), 10));
  FwdRule one = addr_rule("127.0.0.1", 10, 10);
  EXPECT_TRUE(one.matches(Proto::Tcp, ip("127.0.0.1"), 10));
  EXPECT_FALSE(one.matches(Proto::Tcp, ip("127.0.0.2"), 10));
}

TEST(FwdRule, Conflicts) {
  EXPECT_TRUE(any_rule(Proto::Tcp, 10, 20, 10).conflicts_with(addr_rule("::1", 20, 30)));
  EXPECT_FALSE(any_rule(Proto::Tcp, 10, 20, 10).conflicts_with(addr_rule("::1", 21, 30)));
  EXPECT_FALSE(any_rule(Proto::Udp, 10, 20, 10).conflicts_with(addr_rule("::1", 10, 30)));
  // 0.0.0.0 and :: do not overlap; each overlaps its own family.
  EXPECT_FALSE(addr_rule("0.0.0.0", 80, 80).conflicts_with(addr_rule("::", 80, 80)));
  EXPECT_TRUE(addr_rule("0.0.0.0", 80, 80).conflicts_with(addr_rule("127.0.0.1", 80, 80)));
  EXPECT_TRUE(addr_rule("::", 80, 80).conflicts_with(addr_rule("::1", 80, 80)));
  EXPECT_FALSE(addr_rule("127.0.0.1", 80, 80).conflicts_with(addr_rule("127.0.0.2", 80, 80)));
  // The interface does not separate rules.
  FwdRule lo = addr_rule("127.0.0.1", 80, 80);
  lo.ifname = "lo";
  EXPECT_TRUE(lo.conflicts_with(addr_rule("127.0.0.1", 80, 80)));
}

TEST(FwdTable, AddChecksWhatSpecsCannotExpress) {
  FwdTable t;
  t.caps = FwdCap::kAll;
  FwdRule backwards = any_rule(Proto::Tcp, 20, 10, 20);
  auto r = t.add(backwards);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("port range 20-10 ends before it starts"), std::string::npos);
  FwdRule wrap = any_rule(Proto::Tcp, 10, 20, 65530);
  r = t.add(wrap);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("it forwards to port 0"), std::string::npos);
  EXPECT_TRUE(t.add(any_rule(Proto::Tcp, 10, 20, 65515)));  // ends exactly at 65535
  FwdRule dual = any_rule(Proto::Udp, 1, 1, 1);
  dual.addr = ip("::1");
  r = t.add(dual);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("a rule for every address has the specific address ::1"), std::string::npos);
  FwdRule longname = any_rule(Proto::Udp, 1, 1, 1);
  longname.ifname = "0123456789abcdef";
  EXPECT_FALSE(t.add(longname));
  FwdTable v4only;
  v4only.caps = FwdCap::kIpv4 | FwdCap::kTcp;
  r = v4only.add(any_rule(Proto::Tcp, 1, 1, 1));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("a dual-stack rule, but IPv6 is not enabled"), std::string::npos);
  FwdTable v6only;
  v6only.caps = FwdCap::kIpv6 | FwdCap::kTcp;
  r = v6only.add(any_rule(Proto::Tcp, 1, 1, 1));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("a dual-stack rule, but IPv4 is not enabled"), std::string::npos);
  r = v6only.add(addr_rule("127.0.0.1", 1, 1));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("an IPv4 rule, but IPv4 is not enabled"), std::string::npos);
  EXPECT_EQ(t.rules.size(), 1u);
}

TEST(FwdTable, RemoveNeedsAnExactMatch) {
  FwdTable t;
  t.caps = FwdCap::kAll;
  ASSERT_TRUE(t.add(addr_rule("127.0.0.1", 80, 80)));
  ASSERT_TRUE(t.add(addr_rule("127.0.0.1", 90, 99)));
  FwdRule weak = addr_rule("127.0.0.1", 80, 80);
  weak.weak = true;
  auto r = t.remove(weak);  // same ports, other flags: overlaps, does not match
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("overlaps rule TCP [127.0.0.1]:80  =>  80 without matching it"), std::string::npos);
  EXPECT_TRUE(t.remove(addr_rule("127.0.0.1", 90, 99)));
  EXPECT_EQ(t.rules.size(), 1u);
  EXPECT_EQ(t.socket_count(), 1u);
  t.clear();
  EXPECT_TRUE(t.rules.empty());
}

TEST(FwdTables, OptionPicksTheDirection) {
  FwdTables t;
  EXPECT_EQ(&t.for_option('t'), &t.inbound);
  EXPECT_EQ(&t.for_option('u'), &t.inbound);
  EXPECT_EQ(&t.for_option('T'), &t.outbound);
  EXPECT_EQ(&t.for_option('U'), &t.outbound);
}

}  // namespace
}  // namespace netd::portfwd
