// Port specs: fixed inputs, good and malformed, and the bind error text.
#include <gtest/gtest.h>

#include <cerrno>

#include "portfwd/port_spec.h"

namespace netd::portfwd {
namespace {

PortSpec ok(const char* s) {
  auto r = parse_port_spec(s);
  EXPECT_TRUE(r.has_value()) << s << ": " << (r ? "" : r.error());
  return r ? *r : PortSpec{};
}

std::string err(const char* s) {
  auto r = parse_port_spec(s);
  EXPECT_FALSE(r.has_value()) << s << " parsed";
  return r ? "" : r.error();
}

TEST(PortSpec, Defaults) {
  auto s = ok("8080:80");
  EXPECT_EQ(s.host_addr.to_string(), "0.0.0.0");
  EXPECT_EQ(s.host_first, 8080);
  EXPECT_EQ(s.host_last, 8080);
  EXPECT_EQ(s.ctr_first, 80);
  EXPECT_EQ(s.proto, Proto::Tcp);
  EXPECT_EQ(s.to_string(), "0.0.0.0:8080:80/tcp");
}

TEST(PortSpec, Ipv4HostAndUdp) {
  auto s = ok("127.0.0.1:5353:53/udp");
  EXPECT_TRUE(s.host_addr.is_v4());
  EXPECT_EQ(s.host_addr.to_string(), "127.0.0.1");
  EXPECT_EQ(s.proto, Proto::Udp);
}

TEST(PortSpec, Ipv6Host) {
  auto s = ok("[::1]:8080:80");
  EXPECT_TRUE(s.host_addr.is_v6());
  EXPECT_EQ(s.host_addr.to_string(), "::1");
  EXPECT_EQ(s.to_string(), "[::1]:8080:80/tcp");
  EXPECT_EQ(ok("[::]:1-2:3-4/udp").to_string(), "[::]:1-2:3-4/udp");
}

TEST(PortSpec, RangesExpand) {
  auto s = ok("10.0.0.1:8000-8002:9000-9002/tcp");
  auto m = expand(s);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].host_port, 8000);
  EXPECT_EQ(m[2].host_port, 8002);
  EXPECT_EQ(m[2].guest_port, 9002);
  EXPECT_EQ(expand(ok("1-65535:1-65535")).size(), 65535u);
}

TEST(PortSpec, Malformed) {
  EXPECT_EQ(err(""), "empty port spec");
  EXPECT_NE(err("8080").find("missing container port"), std::string::npos);
  EXPECT_NE(err("8080:80/sctp").find("unknown protocol 'sctp'"), std::string::npos);
  EXPECT_NE(err("8080:80/").find("unknown protocol"), std::string::npos);
  EXPECT_NE(err("0:80").find("out of range"), std::string::npos);
  EXPECT_NE(err("65536:80").find("out of range"), std::string::npos);
  EXPECT_NE(err("8080:123456").find("out of range"), std::string::npos);
  EXPECT_NE(err("80a:80").find("not a number"), std::string::npos);
  EXPECT_NE(err("-1:80").find("empty host port"), std::string::npos);
  EXPECT_NE(err("8080:").find("empty container port"), std::string::npos);
  EXPECT_NE(err(":80").find("empty host port"), std::string::npos);
  EXPECT_NE(err("90-80:90-80").find("ends before it starts"), std::string::npos);
  EXPECT_NE(err("8000-8002:80-81").find("differ in length"), std::string::npos);
  EXPECT_NE(err("::1:8080:80").find("brackets"), std::string::npos);
  EXPECT_NE(err("[::1:8080:80").find("missing ']'"), std::string::npos);
  EXPECT_NE(err("[::1]8080:80").find("expected ':'"), std::string::npos);
  EXPECT_NE(err("[::1]:8080").find("missing container port"), std::string::npos);
  EXPECT_NE(err("[::1]:8080:80:90").find("too many ':'"), std::string::npos);
  EXPECT_NE(err("[1.2.3.4]:8080:80").find("bad IPv6"), std::string::npos);
  EXPECT_NE(err("[zz]:8080:80").find("bad IPv6"), std::string::npos);
  EXPECT_NE(err("1.2.3:8080:80").find("bad IPv4 host address '1.2.3'"), std::string::npos);
  EXPECT_NE(err(":8080:80").find("empty host address"), std::string::npos);
  EXPECT_NE(err("1-2-3:1-2").find("not a number"), std::string::npos);
}

TEST(PortSpec, BindErrorNamesSysctl) {
  auto a = *net::IpAddr::parse("0.0.0.0");
  auto m = bind_error_message(a, 80, Proto::Tcp, EACCES, 1024);
  EXPECT_NE(m.find("cannot bind 0.0.0.0:80/tcp"), std::string::npos) << m;
  EXPECT_NE(m.find("net.ipv4.ip_unprivileged_port_start"), std::string::npos) << m;
  auto high = bind_error_message(a, 2000, Proto::Udp, EACCES, 1024);
  EXPECT_EQ(high.find("ip_unprivileged_port_start"), std::string::npos) << high;
  auto v6 = bind_error_message(*net::IpAddr::parse("::1"), 8080, Proto::Tcp, EADDRINUSE, 1024);
  EXPECT_NE(v6.find("[::1]:8080/tcp"), std::string::npos) << v6;
  EXPECT_GT(unprivileged_port_start(), -1);
}

}  // namespace
}  // namespace netd::portfwd
