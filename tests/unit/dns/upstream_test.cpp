// parse_upstream, parse_resolv_conf, and the c-ares Forwarder driven by a
// poll() loop against a responder on 127.0.0.1 (test_responder.h).
#include "dns/upstream.h"

#include <ares.h>
#include <gtest/gtest.h>
#include <poll.h>

#include <map>

#include "dns/wire/builder.h"
#include "test_responder.h"

using namespace netd;
using namespace netd::dns;

TEST(ParseUpstream, AcceptsTheDocumentedForms) {
  EXPECT_EQ(*parse_upstream("1.2.3.4"), (UpstreamServer{"1.2.3.4", 53}));
  EXPECT_EQ(*parse_upstream(" 1.2.3.4:5353 "), (UpstreamServer{"1.2.3.4", 5353}));
  EXPECT_EQ(*parse_upstream("::1"), (UpstreamServer{"::1", 53}));
  EXPECT_EQ(*parse_upstream("[::1]:5353"), (UpstreamServer{"::1", 5353}));
  EXPECT_EQ(*parse_upstream("[::1]"), (UpstreamServer{"::1", 53}));
  EXPECT_EQ(*parse_upstream("fe80::1%eth0"), (UpstreamServer{"fe80::1%eth0", 53}));
  EXPECT_EQ(*parse_upstream("[fe80::1%eth0]:54"), (UpstreamServer{"fe80::1%eth0", 54}));
}

TEST(ParseUpstream, RejectsGarbage) {
  for (const char* s : {"", "dns.google", "1.2.3", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:x",
                        "1.2.3.4%eth0", "[::1", "[::1]x", "::1:53:zz", "fe80::1%", "256.1.1.1",
                        "[1.2.3.4]:53", "1.2.3.4:53:53"}) {
    auto r = parse_upstream(s);
    EXPECT_FALSE(r) << s;
    if (!r) {
      EXPECT_NE(r.error().find("bad upstream"), std::string::npos);
    }
  }
}

TEST(ParseResolvConf, OddFiles) {
  auto v = parse_resolv_conf(
      "# generated\n"
      "; another comment\n"
      "search example.com dns.podman\n"
      "options edns0 trust-ad ndots:2\n"
      "nameserver\n"
      "nameserver not-an-address\n"
      "nameserver fe80::1%enp0s3\n"
      "\tnameserver   10.0.0.1   # trailing comment\n"
      "nameserverx 9.9.9.9\n"
      "\x01\xff garbage line\n"
      "nameserver 2001:db8::53\n"
      "nameserver 10.0.0.2\n");
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].addr, "fe80::1%enp0s3");
  EXPECT_EQ(v[1].addr, "10.0.0.1");
  EXPECT_EQ(v[2].addr, "2001:db8::53");
  EXPECT_TRUE(parse_resolv_conf("").empty());
  EXPECT_TRUE(parse_resolv_conf("nameserver").empty());
  EXPECT_EQ(parse_resolv_conf("nameserver 127.0.0.53").size(), 1u);   // no newline at end
}

namespace {

class PollWatcher : public SocketWatcher {
 public:
  void watch(int fd, bool r, bool w) override {
    if (!r && !w)
      fds_.erase(fd);
    else
      fds_[fd] = {r, w};
  }
  // Runs the loop until done() or `limit` passes.
  void drive(Forwarder& f, const std::function<bool()>& done, Duration limit) {
    Time end = Clock::now() + limit;
    while (!done() && Clock::now() < end) {
      std::vector<pollfd> p;
      for (auto& [fd, rw] : fds_)
        p.push_back({fd, static_cast<short>((rw.first ? POLLIN : 0) | (rw.second ? POLLOUT : 0)), 0});
      Time now = Clock::now();
      Time wake = std::min(end, f.next_deadline(now).value_or(end));
      int ms = static_cast<int>(std::chrono::duration_cast<milliseconds>(wake - now).count()) + 1;
      int n = poll(p.data(), p.size(), std::max(ms, 0));
      if (n > 0)
        for (auto& x : p)
          if (x.revents)
            f.process(x.fd, x.revents & (POLLIN | POLLERR | POLLHUP), x.revents & POLLOUT);
      auto d = f.next_deadline(Clock::now());
      if (d && *d <= Clock::now()) f.on_timer();
    }
  }
  size_t watched() const { return fds_.size(); }

 private:
  std::map<int, std::pair<bool, bool>> fds_;
};

std::vector<std::byte> query(uint16_t id, const char* name, uint16_t qtype = wire::type::A) {
  return wire::make_query(id, *wire::Name::from_text(name), qtype);
}

struct Result {
  int calls = 0;
  Expected<std::vector<std::byte>, int> value = unexpected(-1);
};

Forwarder::Callback record(Result& r) {
  return [&r](Expected<std::vector<std::byte>, int> v) {
    ++r.calls;
    r.value = std::move(v);
  };
}

uint16_t dead_udp_port() {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  close(s);
  return ntohs(a.sin_port);
}

}  // namespace

TEST(Forwarder, CreateRejectsEmptyServerList) {
  PollWatcher w;
  EXPECT_FALSE(Forwarder::create({}, w));
  Forwarder::Options o;
  o.servers = {{"fe80::1%no-such-if0", 53}};
  EXPECT_FALSE(Forwarder::create(o, w));
}

TEST(Forwarder, ZonedIpv6ServerIsUsed) {
  // A UDP responder on [::1]; the server is given as "::1%lo" (the zone is
  // accepted and passed as a scope id; for ::1 the kernel ignores it).
  int s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(s);
    GTEST_SKIP() << "no IPv6 loopback";
  }
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  PollWatcher w;
  auto f = Forwarder::create({.servers = {{"::1%lo", ntohs(a.sin6_port)}}}, w);
  ASSERT_TRUE(f) << f.error();
  Result r;
  (*f)->forward(query(0x77, "zoned.test"), false, record(r));
  // Answer it by hand from the test thread.
  std::thread responder([s] {
    pollfd p{s, POLLIN, 0};
    if (poll(&p, 1, 2000) != 1) return;
    std::byte buf[512];
    sockaddr_in6 from{};
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(s, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
    if (n <= 0) return;
    auto reply = test::TestResponder::answer({buf, static_cast<size_t>(n)}, false);
    if (reply) sendto(s, reply->data(), reply->size(), 0, reinterpret_cast<sockaddr*>(&from), fl);
  });
  w.drive(**f, [&] { return r.calls > 0; }, seconds(3));
  responder.join();
  close(s);
  ASSERT_EQ(r.calls, 1);
  ASSERT_TRUE(r.value) << r.value.error();
  EXPECT_EQ(wire::MessageView::parse(*r.value)->header().id, 0x77);
}

TEST(Forwarder, UdpAnswerCarriesClientId) {
  test::TestResponder up;
  PollWatcher w;
  auto f = Forwarder::create({.servers = {{"127.0.0.1", up.port()}}}, w);
  ASSERT_TRUE(f) << f.error();
  Result r;
  auto q = query(0x4242, "Host.Example");
  (*f)->forward(q, false, record(r));
  EXPECT_EQ((*f)->pending(), 1u);
  w.drive(**f, [&] { return r.calls > 0; }, seconds(3));
  ASSERT_EQ(r.calls, 1);
  ASSERT_TRUE(r.value) << r.value.error();
  auto v = wire::MessageView::parse(*r.value);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->header().id, 0x4242);
  EXPECT_EQ(v->header().ancount, 1);
  EXPECT_EQ((*f)->pending(), 0u);
  EXPECT_EQ(up.udp_queries(), 1);
}

TEST(Forwarder, TcpQueryGoesOverTcp) {
  test::TestResponder up;
  PollWatcher w;
  auto f = Forwarder::create({.servers = {{"127.0.0.1", up.port()}}}, w);
  ASSERT_TRUE(f);
  Result r;
  (*f)->forward(query(7, "tc.test"), true, record(r));
  w.drive(**f, [&] { return r.calls > 0; }, seconds(3));
  ASSERT_TRUE(r.value);
  auto v = wire::MessageView::parse(*r.value);
  EXPECT_EQ(v->header().id, 7);
  EXPECT_FALSE(v->header().tc());
  EXPECT_EQ(v->header().ancount, 1);
  EXPECT_EQ(up.tcp_queries(), 1);
  EXPECT_EQ(up.udp_queries(), 0);
}

// --outbound-addr: c-ares' sockets bind to the given source (127.0.0.2 is
// as local as 127.0.0.1 on lo), over UDP and TCP; without it, the kernel's.
TEST(Forwarder, SourceAddressBindsUdpAndTcp) {
  test::TestResponder up;
  PollWatcher w;
  auto f = Forwarder::create({.servers = {{"127.0.0.1", up.port()}}, .source4 = "127.0.0.2"}, w);
  ASSERT_TRUE(f) << f.error();
  Result udp, tcp;
  (*f)->forward(query(1, "a.test"), false, record(udp));
  w.drive(**f, [&] { return udp.calls > 0; }, seconds(3));
  ASSERT_TRUE(udp.value);
  EXPECT_EQ(up.last_udp_source(), 0x7f000002u);
  (*f)->forward(query(2, "tc.test"), true, record(tcp));
  w.drive(**f, [&] { return tcp.calls > 0; }, seconds(3));
  ASSERT_TRUE(tcp.value);
  EXPECT_EQ(up.last_tcp_source(), 0x7f000002u);

  test::TestResponder plain;
  auto g = Forwarder::create({.servers = {{"127.0.0.1", plain.port()}}}, w);
  ASSERT_TRUE(g);
  Result r;
  (*g)->forward(query(3, "a.test"), false, record(r));
  w.drive(**g, [&] { return r.calls > 0; }, seconds(3));
  ASSERT_TRUE(r.value);
  EXPECT_EQ(plain.last_udp_source(), 0x7f000001u);
}

TEST(Forwarder, BadSourceAddressIsAnError) {
  PollWatcher w;
  auto f = Forwarder::create({.servers = {{"127.0.0.1", 53}}, .source4 = "eth0"}, w);
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().find("bad IPv4 source address 'eth0'"), std::string::npos) << f.error();
  auto g = Forwarder::create({.servers = {{"127.0.0.1", 53}}, .source6 = "127.0.0.1"}, w);
  ASSERT_FALSE(g);
  EXPECT_NE(g.error().find("bad IPv6 source address"), std::string::npos) << g.error();
}

TEST(Forwarder, TruncatedUdpAnswerIsPassedBack) {
  test::TestResponder up;
  PollWatcher w;
  auto f = Forwarder::create({.servers = {{"127.0.0.1", up.port()}}}, w);
  ASSERT_TRUE(f);
  Result r;
  (*f)->forward(query(9, "tc.test"), false, record(r));
  w.drive(**f, [&] { return r.calls > 0; }, seconds(3));
  ASSERT_TRUE(r.value);
  EXPECT_TRUE(wire::MessageView::parse(*r.value)->header().tc());
  EXPECT_EQ(up.tcp_queries(), 0);
}

TEST(Forwarder, NxdomainIsAnAnswer) {
  test::TestResponder up;
  PollWatcher w;
  auto f = Forwarder::create({.servers = {{"127.0.0.1", up.port()}}}, w);
  ASSERT_TRUE(f);
  Result r;
  (*f)->forward(query(9, "nx.test"), false, record(r));
  w.drive(**f, [&] { return r.calls > 0; }, seconds(3));
  ASSERT_TRUE(r.value);
  EXPECT_EQ(wire::MessageView::parse(*r.value)->header().rcode(), wire::Rcode::NxDomain);
}

TEST(Forwarder, RefusedPortFailsFast) {
  PollWatcher w;
  auto f = Forwarder::create({.servers = {{"127.0.0.1", dead_udp_port()}}}, w);
  ASSERT_TRUE(f);
  Result r;
  Time t0 = Clock::now();
  (*f)->forward(query(1, "x.test"), false, record(r));
  w.drive(**f, [&] { return r.calls > 0; }, seconds(5));
  auto took = Clock::now() - t0;
  ASSERT_EQ(r.calls, 1);
  EXPECT_FALSE(r.value);
  EXPECT_LT(took, milliseconds(1600));
}

TEST(Forwarder, SilentUpstreamIsBoundedByTimeoutTimesTries) {
  test::TestResponder up;
  PollWatcher w;
  // Three silent servers: c-ares alone would take far longer than the bound.
  Forwarder::Options o;
  o.servers = {{"127.0.0.1", up.port()}, {"127.0.0.1", up.port()}, {"127.0.0.1", up.port()}};
  o.timeout = milliseconds(300);
  o.tries = 2;
  auto f = Forwarder::create(o, w);
  ASSERT_TRUE(f);
  Result r;
  Time t0 = Clock::now();
  (*f)->forward(query(1, "silent.test"), false, record(r));
  w.drive(**f, [&] { return r.calls > 0; }, seconds(5));
  auto took = Clock::now() - t0;
  ASSERT_EQ(r.calls, 1);
  ASSERT_FALSE(r.value);
  EXPECT_EQ(r.value.error(), ARES_ETIMEOUT);
  EXPECT_GE(took, milliseconds(550));
  EXPECT_LT(took, milliseconds(1100));   // slack for shared, sanitized CI machines
  // Keep the loop running a little: the late c-ares timeout must not call again.
  w.drive(**f, [] { return false; }, milliseconds(700));
  EXPECT_EQ(r.calls, 1);
}

TEST(Forwarder, DefaultsAnswerADeadUpstreamWithinOnePointFiveSeconds) {
  test::TestResponder up;
  PollWatcher w;
  auto f = Forwarder::create({.servers = {{"127.0.0.1", up.port()}}}, w);
  ASSERT_TRUE(f);
  Result r;
  Time t0 = Clock::now();
  (*f)->forward(query(1, "silent.test"), false, record(r));
  w.drive(**f, [&] { return r.calls > 0; }, seconds(5));
  EXPECT_EQ(r.calls, 1);
  EXPECT_LT(Clock::now() - t0, milliseconds(1800));   // bound 1.4 s + slack for loaded machines
}

TEST(Forwarder, DestructionFailsPendingQueriesExactlyOnce) {
  test::TestResponder up;
  PollWatcher w;
  Result a, b;
  {
    auto f = Forwarder::create({.servers = {{"127.0.0.1", up.port()}}}, w);
    ASSERT_TRUE(f);
    (*f)->forward(query(1, "silent.test"), false, record(a));
    (*f)->forward(query(2, "silent.test"), true, record(b));
    w.drive(**f, [] { return false; }, milliseconds(100));
    EXPECT_EQ((*f)->pending(), 2u);
  }
  EXPECT_EQ(a.calls, 1);
  EXPECT_EQ(b.calls, 1);
  EXPECT_FALSE(a.value);
  EXPECT_EQ(a.value.error(), ARES_EDESTRUCTION);
  EXPECT_EQ(w.watched(), 0u);
}

TEST(Forwarder, BadQueryFailsImmediately) {
  test::TestResponder up;
  PollWatcher w;
  auto f = Forwarder::create({.servers = {{"127.0.0.1", up.port()}}}, w);
  ASSERT_TRUE(f);
  Result r;
  std::vector<std::byte> tiny(5);
  (*f)->forward(tiny, false, record(r));
  EXPECT_EQ(r.calls, 1);
  EXPECT_EQ((*f)->pending(), 0u);
}

TEST(Forwarder, ManyConcurrentQueriesEachAnsweredOnce) {
  test::TestResponder up;
  PollWatcher w;
  auto f = Forwarder::create({.servers = {{"127.0.0.1", up.port()}}}, w);
  ASSERT_TRUE(f);
  std::vector<Result> rs(200);
  for (size_t i = 0; i < rs.size(); ++i)
    (*f)->forward(query(static_cast<uint16_t>(1000 + i), ("n" + std::to_string(i) + ".test").c_str()),
                  i % 4 == 0, record(rs[i]));
  w.drive(**f, [&] { return (*f)->pending() == 0; }, seconds(5));
  for (size_t i = 0; i < rs.size(); ++i) {
    ASSERT_EQ(rs[i].calls, 1) << i;
    ASSERT_TRUE(rs[i].value) << i;
    EXPECT_EQ(wire::MessageView::parse(*rs[i].value)->header().id, 1000 + i);
  }
}

// A query in flight when the servers change is answered by the server it
// went to; the next one goes to the new server; the old channels go once
// nothing is in flight on them.
TEST(ForwarderSetServers, InFlightQueryFinishesOnOldServer) {
  test::TestResponder a, b;
  PollWatcher w;
  auto f = Forwarder::create({.servers = {{"127.0.0.1", a.port()}}}, w);
  ASSERT_TRUE(f) << f.error();
  Result before, after;
  (*f)->forward(query(1, "before.test"), false, record(before));
  ASSERT_TRUE((*f)->set_servers({{"127.0.0.1", b.port()}}));
  EXPECT_EQ((*f)->retiring(), 1u);
  EXPECT_EQ((*f)->options().servers, (std::vector<UpstreamServer>{{"127.0.0.1", b.port()}}));
  (*f)->forward(query(2, "after.test"), false, record(after));
  w.drive(**f, [&] { return before.calls > 0 && after.calls > 0; }, seconds(3));
  ASSERT_EQ(before.calls, 1);
  ASSERT_EQ(after.calls, 1);
  EXPECT_TRUE(before.value) << before.value.error();
  EXPECT_TRUE(after.value) << after.value.error();
  EXPECT_EQ(a.udp_queries(), 1);
  EXPECT_EQ(b.udp_queries(), 1);
  EXPECT_EQ((*f)->retiring(), 0u);
  EXPECT_EQ((*f)->pending(), 0u);
}

// A query the old server never answers ends at its deadline, exactly once,
// and then the old channels go too.
TEST(ForwarderSetServers, UnansweredQueryTimesOutOnce) {
  test::TestResponder a, b;
  PollWatcher w;
  auto f = Forwarder::create({.servers = {{"127.0.0.1", a.port()}}, .timeout = milliseconds(100)}, w);
  ASSERT_TRUE(f) << f.error();
  Result r;
  (*f)->forward(query(3, "silent.test"), false, record(r));
  ASSERT_TRUE((*f)->set_servers({{"127.0.0.1", b.port()}}));
  w.drive(**f, [&] { return r.calls > 0; }, seconds(3));
  ASSERT_EQ(r.calls, 1);
  ASSERT_FALSE(r.value);
  EXPECT_EQ(r.value.error(), ARES_ETIMEOUT);
  w.drive(**f, [] { return false; }, milliseconds(50));
  EXPECT_EQ(r.calls, 1);
  EXPECT_EQ((*f)->retiring(), 0u);
  EXPECT_EQ(b.udp_queries(), 0);
}

// No usable server: an error, and the old servers stay.
TEST(ForwarderSetServers, EmptyListIsRefused) {
  test::TestResponder a;
  PollWatcher w;
  auto f = Forwarder::create({.servers = {{"127.0.0.1", a.port()}}}, w);
  ASSERT_TRUE(f) << f.error();
  EXPECT_FALSE((*f)->set_servers({}));
  EXPECT_FALSE((*f)->set_servers({{"fe80::1%no-such-if0", 53}}));
  EXPECT_EQ((*f)->retiring(), 0u);
  Result r;
  (*f)->forward(query(4, "still.test"), false, record(r));
  w.drive(**f, [&] { return r.calls > 0; }, seconds(3));
  ASSERT_TRUE(r.value);
  EXPECT_EQ(a.udp_queries(), 1);
}


// New source addresses: new sockets bind to them, and the old channels go
// once nothing is in flight.
TEST(ForwarderSetServers, NewSourceAddressBindsNewSockets) {
  test::TestResponder up;
  PollWatcher w;
  auto f = Forwarder::create({.servers = {{"127.0.0.1", up.port()}}, .source4 = "127.0.0.2"}, w);
  ASSERT_TRUE(f) << f.error();
  Result r1, r2;
  (*f)->forward(query(5, "one.test"), false, record(r1));
  w.drive(**f, [&] { return r1.calls > 0; }, seconds(3));
  ASSERT_TRUE(r1.value);
  EXPECT_EQ(up.last_udp_source(), 0x7f000002u);
  EXPECT_FALSE((*f)->set_sources("eth0", ""));
  ASSERT_TRUE((*f)->set_sources("127.0.0.3", ""));
  (*f)->forward(query(6, "two.test"), false, record(r2));
  w.drive(**f, [&] { return r2.calls > 0; }, seconds(3));
  ASSERT_TRUE(r2.value);
  EXPECT_EQ(up.last_udp_source(), 0x7f000003u);
  EXPECT_EQ((*f)->options().source4, "127.0.0.3");
  EXPECT_EQ((*f)->retiring(), 0u);
}
