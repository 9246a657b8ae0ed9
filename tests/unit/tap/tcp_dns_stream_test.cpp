// TCP engine, DNS over TCP to the DNS address: only a stream of standard
// queries goes on to the upstream; anything else resets the connection.

#include "unit/tap/tcp_harness.h"

namespace netd::tap {
namespace tcp_test {
namespace {

// DNS over TCP to the DNS address: only a stream of standard queries goes on.
std::string dns_query_framed() {
  const std::string q("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01" "a\x04test\x00\x00\x01\x00\x01", 24);
  return std::string{'\0', static_cast<char>(q.size())} + q;
}
StackConfig dns_tcp_config() {
  auto cfg = test_config();
  cfg.dns_tcp_upstream = wire::IpAddr(Ipv4Addr::from_octets(127, 0, 0, 53));
  cfg.host_loopback = false;  // the DNS address reaches a loopback upstream all the same
  return cfg;
}
// A connection from the guest to port 53 of the DNS address.
class TcpDnsStream : public ::testing::Test, public TcpHarness {
 protected:
  TcpDnsStream() : TcpHarness(dns_tcp_config()) {
    dst = stack.config().dns;
    dport = 53;
  }
};

TEST_F(TcpDnsStream, OfQueriesGoesToTheUpstream) {
  establish();
  const std::string q = dns_query_framed();
  data(q.substr(0, 7));
  data(q.substr(7) + q);
  EXPECT_EQ(host_takes(), q.substr(0, 7));
  EXPECT_EQ(host_takes(), q.substr(7) + q);
  EXPECT_EQ(counters().drop_malformed, 0u);
  EXPECT_EQ(state(), TcpState::Established);
}

TEST_F(TcpDnsStream, ThatIsNotQueriesIsResetOnBothSides) {
  establish();
  data(dns_query_framed());
  EXPECT_EQ(host_takes(), dns_query_framed());
  data("GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(count<TcpSend>(), 0u) << "none of the bad segment's bytes go on";
  auto cs = ops<CloseSocket>();
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_TRUE(cs[0].abort);
  auto r = only_seg();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->has(kRst));
  EXPECT_EQ(counters().drop_malformed, 1u);
  EXPECT_FALSE(state().has_value());
}

TEST_F(TcpDnsStream, KeepsNoEarlySegments) {
  establish();
  const std::string q = dns_query_framed();
  data_at(isn + 1 + 5, q.substr(5));
  EXPECT_EQ(count<TcpSend>(), 0u);
  data(q.substr(0, 5));
  EXPECT_EQ(host_takes(), q.substr(0, 5)) << "the rest was not kept: the guest sends it again";
}

}  // namespace
}  // namespace tcp_test
}  // namespace netd::tap
