// The query engine with fixed queries and a fake clock: local answers,
// search domain, isolation, PTR, NXDOMAIN, forwarding decisions, cache.
#include "dns/engine.h"

#include <gtest/gtest.h>

#include "dns/wire/builder.h"

using namespace netd;
using namespace netd::dns;
using namespace netd::dns::wire;

namespace {
net::IpAddr ip(const char* s) { return *net::IpAddr::parse(s); }

NameTable table() {
  std::vector<std::string> w;
  std::vector<NetworkConfig> nets;
  nets.push_back(*parse_network_file("a", "10.1.0.1\n"
                                          "c1 10.1.0.2,10.1.0.12 fd01::2 Web,www\n"
                                          "c2 10.1.0.3  v4only 7.7.7.7\n", w));
  nets.push_back(*parse_network_file("b", "10.2.0.1 8.8.4.4:5300\n"
                                          "c3 10.2.0.2  db\n", w));
  nets.push_back(*parse_network_file("i%int", "10.3.0.1\n"
                                              "c4 10.3.0.2  lonely\n", w));
  return NameTable(std::move(nets));
}

EngineOptions opts() {
  EngineOptions o;
  o.ttl = 5;
  o.default_upstreams = {{"127.0.0.1", 5353}};
  return o;
}

std::vector<std::byte> q(const std::string& name, uint16_t t = type::A, uint16_t id = 0x1111) {
  return make_query(id, *Name::from_text(name), t);
}

QueryInfo from(const char* src, const char* listen = "10.1.0.1", bool tcp = false) {
  return {ip(src), ip(listen), tcp};
}

MessageView view(const Decision& d) {
  auto v = MessageView::parse(d.reply);
  EXPECT_TRUE(v);
  return *v;
}

std::vector<std::string> a_records(const MessageView& v) {
  std::vector<std::string> out;
  v.for_each_record([&](const Record& r) {
    if (r.rtype == type::A)
      out.push_back(net::Ipv4Addr::from_octets(std::to_integer<uint8_t>(r.rdata[0]), std::to_integer<uint8_t>(r.rdata[1]),
                                               std::to_integer<uint8_t>(r.rdata[2]), std::to_integer<uint8_t>(r.rdata[3]))
                        .to_string());
  });
  return out;
}
Time t0{};
}  // namespace

TEST(Engine, LocalNameCaseInsensitiveWithAndWithoutSearchDomain) {
  Engine e(opts());
  auto t = table();
  for (const char* name : {"web", "WEB", "Web.Dns.Podman", "www.dns.podman."}) {
    auto d = e.on_query(t0, t, from("10.1.0.3"), q(name));
    ASSERT_EQ(d.kind, Decision::Kind::Reply) << name;
    auto v = view(d);
    EXPECT_EQ(v.header().rcode(), Rcode::NoError);
    EXPECT_EQ(v.header().id, 0x1111);
    EXPECT_EQ(a_records(v), (std::vector<std::string>{"10.1.0.2", "10.1.0.12"})) << name;
    uint32_t ttl = 99;
    v.for_each_record([&](const Record& r) { ttl = r.ttl; });
    EXPECT_EQ(ttl, 5u);
  }
}

TEST(Engine, AaaaAndEmptyNoError) {
  Engine e(opts());
  auto t = table();
  auto d = e.on_query(t0, t, from("10.1.0.2"), q("web", type::AAAA));
  EXPECT_EQ(view(d).header().ancount, 1);
  d = e.on_query(t0, t, from("10.1.0.2"), q("v4only", type::AAAA));
  ASSERT_EQ(d.kind, Decision::Kind::Reply);
  EXPECT_EQ(view(d).header().rcode(), Rcode::NoError);
  EXPECT_EQ(view(d).header().ancount, 0);
  d = e.on_query(t0, t, from("10.1.0.2"), q("web", type::MX));
  EXPECT_EQ(view(d).header().ancount, 0);
}

TEST(Engine, IsolationBetweenNetworks) {
  Engine e(opts());
  auto t = table();
  auto d = e.on_query(t0, t, from("10.1.0.2"), q("db.dns.podman"));
  ASSERT_EQ(d.kind, Decision::Kind::Reply);
  EXPECT_EQ(view(d).header().rcode(), Rcode::NxDomain);
  // Bare "db" from network a is not ours: it goes upstream like any name.
  d = e.on_query(t0, t, from("10.1.0.2"), q("db"));
  EXPECT_EQ(d.kind, Decision::Kind::Forward);
  d = e.on_query(t0, t, from("10.2.0.2", "10.2.0.1"), q("db"));
  EXPECT_EQ(a_records(view(d)), (std::vector<std::string>{"10.2.0.2"}));
}

TEST(Engine, HostSourceUsesListenerNetwork) {
  Engine e(opts());
  auto t = table();
  auto d = e.on_query(t0, t, from("127.0.0.1", "10.2.0.1"), q("db"));
  EXPECT_EQ(a_records(view(d)), (std::vector<std::string>{"10.2.0.2"}));
}

TEST(Engine, PtrForKnownAddresses) {
  Engine e(opts());
  auto t = table();
  auto d = e.on_query(t0, t, from("10.1.0.3"), q("2.0.1.10.in-addr.arpa", type::PTR));
  ASSERT_EQ(d.kind, Decision::Kind::Reply);
  std::vector<std::string> names;
  view(d).for_each_record([&](const Record& r) {
    auto n = decode_name(d.reply, r.rdata_offset);
    ASSERT_TRUE(n);
    names.push_back(n->name.text());
  });
  EXPECT_EQ(names, (std::vector<std::string>{"web.dns.podman", "www.dns.podman"}));
  // Unknown addresses are forwarded.
  d = e.on_query(t0, t, from("10.1.0.3"), q("9.9.9.9.in-addr.arpa", type::PTR));
  EXPECT_EQ(d.kind, Decision::Kind::Forward);
  // Addresses on another network are not revealed.
  d = e.on_query(t0, t, from("10.1.0.3"), q("2.0.2.10.in-addr.arpa", type::PTR));
  EXPECT_EQ(d.kind, Decision::Kind::Forward);
}

TEST(Engine, ForwardingPicksContainerNetworkThenDefaultUpstreams) {
  Engine e(opts());
  auto t = table();
  auto d = e.on_query(t0, t, from("10.1.0.3"), q("example.com"));
  ASSERT_EQ(d.kind, Decision::Kind::Forward);
  EXPECT_EQ(d.upstreams[0].addr, "7.7.7.7");
  d = e.on_query(t0, t, from("10.2.0.2", "10.2.0.1"), q("example.com"));
  EXPECT_EQ(d.upstreams[0].port, 5300);
  d = e.on_query(t0, t, from("10.1.0.2"), q("example.com"));
  EXPECT_EQ(d.upstreams[0].port, 5353);
}

TEST(Engine, InternalOnlySourcesGetNxdomain) {
  Engine e(opts());
  auto t = table();
  auto d = e.on_query(t0, t, from("10.3.0.2", "10.3.0.1"), q("example.com"));
  ASSERT_EQ(d.kind, Decision::Kind::Reply);
  EXPECT_EQ(view(d).header().rcode(), Rcode::NxDomain);
  d = e.on_query(t0, t, from("10.3.0.2", "10.3.0.1"), q("lonely"));
  EXPECT_EQ(a_records(view(d)).size(), 1u);
}

TEST(Engine, NoUpstreamsMeansServfail) {
  EngineOptions o;
  Engine e(o);
  auto t = table();
  auto d = e.on_query(t0, t, from("10.1.0.2"), q("example.com"));
  ASSERT_EQ(d.kind, Decision::Kind::Reply);
  EXPECT_EQ(view(d).header().rcode(), Rcode::ServFail);
}

TEST(Engine, MalformedQueries) {
  Engine e(opts());
  auto t = table();
  auto good = q("web");
  // Truncated question: FORMERR with the id.
  auto d = e.on_query(t0, t, from("10.1.0.2"), std::span(good).first(15));
  ASSERT_EQ(d.kind, Decision::Kind::Reply);
  EXPECT_EQ(view(d).header().rcode(), Rcode::FormErr);
  EXPECT_EQ(view(d).header().id, 0x1111);
  // Too short for a header, or a response: dropped.
  EXPECT_EQ(e.on_query(t0, t, from("10.1.0.2"), std::span(good).first(5)).kind, Decision::Kind::Drop);
  auto resp = good;
  resp[2] |= std::byte{0x80};
  EXPECT_EQ(e.on_query(t0, t, from("10.1.0.2"), resp).kind, Decision::Kind::Drop);
  // Opcode 2 (STATUS): NOTIMP.
  auto status = good;
  status[2] = std::byte{0x10};
  EXPECT_EQ(view(e.on_query(t0, t, from("10.1.0.2"), status)).header().rcode(), Rcode::NotImp);
  // Every truncation is handled without crashing.
  for (size_t len = 0; len < good.size(); ++len) (void)e.on_query(t0, t, from("10.1.0.2"), std::span(good).first(len));
}

TEST(Engine, CacheHonoursUpstreamTtlAndRewritesIdAndCase) {
  Engine e(opts());
  auto t = table();
  auto query = q("Example.COM", type::A, 0x2222);
  auto d = e.on_query(t0, t, from("10.1.0.2"), query);
  ASSERT_EQ(d.kind, Decision::Kind::Forward);
  // Upstream answer (lowercased question, TTL 10).
  auto up_q = q("example.com", type::A, 0x2222);
  auto up_view = MessageView::parse(up_q);
  ReplyBuilder b(*up_view, 512);
  b.add_a(10, {93, 184, 216, 34});
  e.on_upstream_reply(t0, d.cache_key, b.finish());

  auto again = q("EXAMPLE.com", type::A, 0x3333);
  auto hit = e.on_query(t0 + seconds(4), t, from("10.1.0.2"), again);
  ASSERT_EQ(hit.kind, Decision::Kind::Reply);
  EXPECT_STREQ(hit.why, "cache");
  auto v = view(hit);
  EXPECT_EQ(v.header().id, 0x3333);
  EXPECT_EQ(v.first_question()->name.text(), "EXAMPLE.com");
  v.for_each_record([&](const Record& r) { EXPECT_EQ(r.ttl, 6u); });
  // Expired after 10 s.
  EXPECT_EQ(e.on_query(t0 + seconds(10), t, from("10.1.0.2"), again).kind, Decision::Kind::Forward);
  // Another upstream set (container c2) does not share the entry.
  EXPECT_EQ(e.on_query(t0, t, from("10.1.0.3"), again).kind, Decision::Kind::Forward);
}

TEST(Cache, NegativeAnswersUseSoaMinimum) {
  // NXDOMAIN with SOA (TTL 900, MINIMUM 60) in authority.
  auto query = q("nope.example", type::A, 1);
  std::vector<std::byte> r = query;
  r[2] = std::byte{0x81};
  r[3] = std::byte{0x83};
  r[9] = std::byte{1};   // nscount
  auto add = [&](std::initializer_list<int> v) {
    for (int x : v) r.push_back(static_cast<std::byte>(x));
  };
  add({0xC0, 17, 0, 6, 0, 1, 0, 0, 0x03, 0x84, 0, 26, 1, 'a', 0, 1, 'b', 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1,
       0, 0, 0, 1, 0, 0, 0, 60});
  auto v = MessageView::parse(r);
  ASSERT_TRUE(v);
  EXPECT_EQ(Cache::cacheable_ttl(*v), 60u);
  Cache c;
  c.put(t0, "k", r);
  auto qv = MessageView::parse(query);
  EXPECT_TRUE(c.get(t0 + seconds(59), "k", *qv, 512));
  EXPECT_FALSE(c.get(t0 + seconds(60), "k", *qv, 512));
  // SERVFAIL and TC are never stored.
  r[3] = std::byte{0x82};
  c.put(t0, "s", r);
  EXPECT_FALSE(c.get(t0, "s", *qv, 512));
  r[3] = std::byte{0x83};
  r[2] = std::byte{0x83};   // TC
  c.put(t0, "t", r);
  EXPECT_FALSE(c.get(t0, "t", *qv, 512));
  EXPECT_EQ(c.size(), 0u);   // "k" expired and was dropped by the lookup
}

TEST(Cache, CapacityIsBounded) {
  Cache c(Cache::Limits{.max_entries = 3});
  auto query = q("x.example", type::A, 1);
  auto qv = MessageView::parse(query);
  ReplyBuilder b(*qv, 512);
  b.add_a(100, {1, 2, 3, 4});
  auto r = b.finish();
  for (int i = 0; i < 10; ++i) c.put(t0, "k" + std::to_string(i), r);
  EXPECT_EQ(c.size(), 3u);
  EXPECT_TRUE(c.get(t0, "k9", *qv, 512));
  EXPECT_FALSE(c.get(t0, "k0", *qv, 512));
  EXPECT_FALSE(c.get(t0, "k9", *qv, 20));   // larger than the client accepts
}
