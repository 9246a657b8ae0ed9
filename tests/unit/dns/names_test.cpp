// NameTable: scope by source address, case-insensitive names, reverse lookups,
// upstream selection.
#include "dns/names.h"
#include "dns/reverse_name.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace netd::dns;

namespace {
netd::net::IpAddr ip(const char* s) { return *netd::net::IpAddr::parse(s); }

NameTable two_networks() {
  std::vector<std::string> w;
  std::vector<NetworkConfig> nets;
  nets.push_back(*parse_network_file("a", "10.1.0.1 9.9.9.9\n"
                                          "c1 10.1.0.2 fd01::2 web,www\n"
                                          "c2 10.1.0.3  both 1.0.0.1\n", w));
  nets.push_back(*parse_network_file("b", "10.2.0.1\n"
                                          "c3 10.2.0.2  db\n"
                                          "c2 10.2.0.3  both\n", w));
  nets.push_back(*parse_network_file("i%int", "10.3.0.1\n"
                                              "c4 10.3.0.2  lonely\n", w));
  return NameTable(std::move(nets));
}
}  // namespace

TEST(NameTable, ScopeBySourceThenListener) {
  auto t = two_networks();
  EXPECT_EQ(t.scope(ip("10.1.0.2"), ip("10.1.0.1")), (NameTable::NetSet{0}));
  // c2 is on both networks through two addresses: from either address it is
  // the same container (same id) and sees both networks, as in aardvark-dns.
  EXPECT_EQ(t.scope(ip("10.2.0.3"), ip("10.2.0.1")), (NameTable::NetSet{0, 1}));
  EXPECT_EQ(t.scope(ip("10.1.0.3"), ip("10.1.0.1")), (NameTable::NetSet{0, 1}));
  EXPECT_EQ(t.scope(ip("10.2.0.2"), ip("10.2.0.1")), (NameTable::NetSet{1}));
  // The host (unknown source) gets the listener's network.
  EXPECT_EQ(t.scope(ip("127.0.0.1"), ip("10.2.0.1")), (NameTable::NetSet{1}));
  EXPECT_TRUE(t.scope(ip("127.0.0.1"), ip("127.0.0.1")).empty());
  // IPv4-mapped sources count as IPv4.
  EXPECT_EQ(t.scope(ip("::ffff:10.1.0.2"), ip("10.1.0.1")), (NameTable::NetSet{0}));
}

TEST(NameTable, LookupIsPerNetwork) {
  auto t = two_networks();
  auto a = t.lookup({0}, "web");
  EXPECT_TRUE(a.found);
  EXPECT_EQ(a.v4.size(), 1u);
  EXPECT_EQ(a.v6.size(), 1u);
  EXPECT_TRUE(t.lookup({0}, "www").found);
  EXPECT_FALSE(t.lookup({0}, "db").found);   // isolation
  EXPECT_TRUE(t.lookup({1}, "db").found);
  auto both = t.lookup({0, 1}, "both");
  EXPECT_EQ(both.v4.size(), 2u);
}

TEST(NameTable, ReverseOnlyWithinScope) {
  auto t = two_networks();
  EXPECT_EQ(t.reverse({0}, ip("10.1.0.2")), (std::vector<std::string>{"web", "www"}));
  EXPECT_EQ(t.reverse({0}, ip("fd01::2")), (std::vector<std::string>{"web", "www"}));
  EXPECT_TRUE(t.reverse({1}, ip("10.1.0.2")).empty());
}

TEST(NameTable, UpstreamsContainerThenNetwork) {
  auto t = two_networks();
  EXPECT_EQ(t.upstreams_for({0}, ip("10.1.0.3"))[0].addr, "1.0.0.1");
  EXPECT_EQ(t.upstreams_for({0}, ip("10.1.0.2"))[0].addr, "9.9.9.9");
  EXPECT_TRUE(t.upstreams_for({1}, ip("10.2.0.2")).empty());
  EXPECT_TRUE(t.all_internal({2}));
  EXPECT_FALSE(t.all_internal({1, 2}));
  EXPECT_EQ(t.listen_addresses().size(), 3u);
}

TEST(ReverseName, RoundTrip) {
  for (const char* s : {"10.88.0.2", "0.0.0.0", "255.1.2.3", "fd00::1", "2001:db8::abcd:1"}) {
    auto a = ip(s);
    auto back = from_reverse_name(reverse_name(a));
    ASSERT_TRUE(back) << s;
    EXPECT_EQ(*back, a) << s;
  }
  EXPECT_EQ(reverse_name(ip("10.88.0.2")), "2.0.88.10.in-addr.arpa");
  for (const char* bad : {"1.2.3.in-addr.arpa", "1.2.3.4.5.in-addr.arpa", "256.2.3.4.in-addr.arpa",
                          "01.2.3.4.in-addr.arpa", "a.2.3.4.in-addr.arpa", "in-addr.arpa", "1.ip6.arpa",
                          "..3.4.in-addr.arpa", "1.2.3.4.in-addr.arpa.", "1.2.3.4.in-addr.arpax"})
    EXPECT_FALSE(from_reverse_name(bad)) << bad;
  EXPECT_EQ(reverse_name(ip("fd00::1")),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa");
  // ip6.arpa: exactly 32 single lower-case hex nibbles.
  const std::string nibbles = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f";
  EXPECT_EQ(from_reverse_name(nibbles + ".ip6.arpa"), ip("fd00::1"));
  for (const std::string& bad : std::vector<std::string>{"1.0." + nibbles + ".ip6.arpa", nibbles.substr(2) + ".ip6.arpa",
                                 "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.D.f.ip6.arpa",
                                 "10.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa"})
    EXPECT_FALSE(from_reverse_name(bad)) << bad;
  // The reverse name of a v4-mapped address is the IPv4 one: it is that address.
  EXPECT_EQ(reverse_name(ip("::ffff:10.88.0.2")), "2.0.88.10.in-addr.arpa");
}
