// --outbound-addr / --outbound-addr6: the text (address or interface name),
// the interface lookup over fixed address lists, and `netd attach`'s options
// (slirp4netns' are in slirp4netns_args_test.cpp).
#include "netd/outbound_addr.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "netd/attach_runner.h"
#include "netd/cli_parse.h"

namespace netd {
namespace {

using net::IpAddr;
using net::IpFamily;

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

TEST(OutboundClassify, AddressOfTheFamily) {
  auto v4 = classify_outbound("198.51.100.2", IpFamily::V4);
  ASSERT_TRUE(v4) << v4.error();
  EXPECT_EQ(std::get<IpAddr>(*v4), ip("198.51.100.2"));
  auto v6 = classify_outbound("2001:db8::2", IpFamily::V6);
  ASSERT_TRUE(v6) << v6.error();
  EXPECT_EQ(std::get<IpAddr>(*v6), ip("2001:db8::2"));
}

TEST(OutboundClassify, AddressOfTheOtherFamilyNamesTheRightOption) {
  auto a = classify_outbound("2001:db8::2", IpFamily::V4);
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().find("is an IPv6 address (use --outbound-addr6)"), std::string::npos) << a.error();
  auto b = classify_outbound("198.51.100.2", IpFamily::V6);
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().find("--outbound-addr6: '198.51.100.2' is an IPv4 address (use --outbound-addr)"),
            std::string::npos)
      << b.error();
}

TEST(OutboundClassify, UnspecifiedIsNoSource) {
  EXPECT_FALSE(classify_outbound("0.0.0.0", IpFamily::V4));
  EXPECT_FALSE(classify_outbound("::", IpFamily::V6));
}

TEST(OutboundClassify, InterfaceNames) {
  for (const char* name : {"eth0", "veth-h", "wlp2s0", "eth0:1", "fifteen-chars-x"}) {
    auto s = classify_outbound(name, IpFamily::V4);
    ASSERT_TRUE(s) << name << ": " << s.error();
    EXPECT_EQ(std::get<std::string>(*s), name);
  }
  for (const char* bad : {"", "sixteen-chars-xx", "a/b", "eth0 ", " eth0", "a\tb", ".", "..", "1.2.3.4/24"}) {
    auto s = classify_outbound(bad, IpFamily::V4);
    ASSERT_FALSE(s) << "'" << bad << "'";
    EXPECT_NE(s.error().find("--outbound-addr must be an IPv4 address or an interface name"), std::string::npos)
        << s.error();
  }
  EXPECT_NE(classify_outbound("a/b", IpFamily::V6).error().find("--outbound-addr6 must be an IPv6 address"),
            std::string::npos);
}

const std::vector<InterfaceAddress> kHost = {
    {"lo", ip("127.0.0.1")},          {"lo", ip("::1")},
    {"eth0", ip("fe80::1")},          {"eth0", ip("198.51.100.2")},
    {"eth0", ip("2001:db8::2")},      {"eth0", ip("2001:db8::3")},
    {"eth1", ip("10.0.0.1")},         {"eth1", ip("10.0.0.2")},
    {"wg0", ip("fe80::5")},
};

IpAddr resolve_ok(const char* text, IpFamily f) {
  auto spec = classify_outbound(text, f);
  EXPECT_TRUE(spec);
  auto a = resolve_outbound(*spec, f, kHost);
  EXPECT_TRUE(a) << text << ": " << a.error();
  return a ? *a : IpAddr{};
}

std::string resolve_error(const char* text, IpFamily f) {
  auto spec = classify_outbound(text, f);
  EXPECT_TRUE(spec);
  auto a = resolve_outbound(*spec, f, kHost);
  EXPECT_FALSE(a) << text;
  return a ? std::string() : a.error();
}

TEST(OutboundResolve, AnAddressIsTakenAsItIs) {
  // Whether it is local is check_local_address's business (start-up).
  EXPECT_EQ(resolve_ok("192.0.2.7", IpFamily::V4), ip("192.0.2.7"));
}

TEST(OutboundResolve, InterfaceGivesItsFirstAddressOfTheFamily) {
  EXPECT_EQ(resolve_ok("eth0", IpFamily::V4), ip("198.51.100.2"));
  EXPECT_EQ(resolve_ok("eth1", IpFamily::V4), ip("10.0.0.1"));
  EXPECT_EQ(resolve_ok("lo", IpFamily::V6), ip("::1"));
}

TEST(OutboundResolve, Ipv6SkipsLinkLocal) {
  EXPECT_EQ(resolve_ok("eth0", IpFamily::V6), ip("2001:db8::2"));  // fe80::1 is listed first
  EXPECT_NE(resolve_error("wg0", IpFamily::V6).find("interface wg0 has only link-local IPv6 addresses"),
            std::string::npos);
}

TEST(OutboundResolve, MissingInterfaceOrFamily) {
  EXPECT_NE(resolve_error("eth9", IpFamily::V4).find("--outbound-addr: no interface or address named 'eth9'"),
            std::string::npos);
  EXPECT_NE(resolve_error("eth1", IpFamily::V6).find("--outbound-addr6: interface eth1 has no IPv6 address"),
            std::string::npos);
  EXPECT_NE(resolve_error("wg0", IpFamily::V4).find("interface wg0 has no IPv4 address"), std::string::npos);
}

cli::ParsedAttach attach(std::vector<std::string> args, std::string* err_text = nullptr) {
  args.insert(args.begin(), "netd attach");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::ostringstream out, err;
  auto r = cli::parse_attach_args(static_cast<int>(args.size()), argv.data(), out, err);
  if (err_text) *err_text = err.str();
  return r;
}

TEST(OutboundAttachArgs, Options) {
  auto r = attach({"--outbound-addr", "198.51.100.2", "--outbound-addr6", "eth0", "1234"});
  ASSERT_FALSE(r.exit_status);
  EXPECT_EQ(r.cfg.outbound_addr, "198.51.100.2");
  EXPECT_EQ(r.cfg.outbound_addr6, "eth0");
  std::string err;
  auto bad = attach({"--outbound-addr6", "198.51.100.2", "1234"}, &err);
  ASSERT_TRUE(bad.exit_status);
  EXPECT_EQ(*bad.exit_status, 2);
  EXPECT_NE(err.find("netd attach: --outbound-addr6: '198.51.100.2' is an IPv4 address"), std::string::npos) << err;
}

}  // namespace
}  // namespace netd
