// slirp4netns' command line: value forms, defaults, validation, -h and -v,
// and which unsupported options warn or fail.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "netd/attach_runner.h"

namespace netd {
namespace {

using Action = Slirp4netnsCommand::Action;

Slirp4netnsCommand parse(std::vector<std::string> args) {
  args.insert(args.begin(), "slirp4netns");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return parse_slirp4netns_args(static_cast<int>(args.size()), argv.data());
}

TEST(Slirp4netnsArgs, Defaults) {
  auto c = parse({"1234"});
  ASSERT_EQ(c.action, Action::Run) << c.error;
  EXPECT_EQ(c.cfg.target.pid, 1234);
  EXPECT_EQ(c.cfg.tap_name, "tap0");
  EXPECT_EQ(c.cfg.mtu, 1500u);
  EXPECT_EQ(c.cfg.cidr, "10.0.2.0/24");
  EXPECT_FALSE(c.cfg.configure);
  EXPECT_EQ(c.cfg.ready_fd, -1);
  EXPECT_EQ(c.cfg.exit_fd, -1);
  EXPECT_EQ(c.cfg.arg_error_status, 1);
  EXPECT_TRUE(c.warnings.empty());
}

TEST(Slirp4netnsArgs, MtuBothForms) {
  EXPECT_EQ(parse({"--mtu=65520", "1", "tap0"}).cfg.mtu, 65520u);
  EXPECT_EQ(parse({"--mtu", "9000", "1", "tap0"}).cfg.mtu, 9000u);
  EXPECT_EQ(parse({"-m", "1400", "1"}).cfg.mtu, 1400u);
  EXPECT_EQ(parse({"-m1300", "1"}).cfg.mtu, 1300u);
  EXPECT_EQ(parse({"--mtu=65522", "1"}).action, Action::Error);
  EXPECT_EQ(parse({"--mtu=0", "1"}).action, Action::Error);
  EXPECT_EQ(parse({"--mtu=abc", "1"}).action, Action::Error);
  EXPECT_EQ(parse({"1", "--mtu"}).action, Action::Error);
}

TEST(Slirp4netnsArgs, PodmanShape) {
  auto c = parse({"--disable-host-loopback", "--mtu=65520", "--enable-sandbox", "--enable-seccomp", "--enable-ipv6",
                  "-c", "-e", "3", "-r", "4", "--api-socket", "/run/x.net", "--netns-type=path", "/run/netns/ns",
                  "tap0"});
  ASSERT_EQ(c.action, Action::Run) << c.error;
  EXPECT_TRUE(c.cfg.disable_host_loopback);
  EXPECT_TRUE(c.cfg.configure);
  EXPECT_EQ(c.cfg.exit_fd, 3);
  EXPECT_EQ(c.cfg.ready_fd, 4);
  EXPECT_EQ(c.cfg.api_socket, "/run/x.net");
  EXPECT_EQ(c.cfg.target.netns_path, "/run/netns/ns");
  EXPECT_FALSE(c.cfg.target.pid);
  EXPECT_TRUE(c.cfg.sandbox);
  EXPECT_TRUE(c.cfg.seccomp);
  EXPECT_TRUE(c.warnings.empty());
  EXPECT_TRUE(c.cfg.ipv6);
}

TEST(Slirp4netnsArgs, ConfinedUnlessDisabled) {
  auto c = parse({"1"});
  EXPECT_TRUE(c.cfg.sandbox);
  EXPECT_TRUE(c.cfg.seccomp);
  c = parse({"--disable-sandbox", "--disable-seccomp", "1"});
  ASSERT_EQ(c.action, Action::Run) << c.error;
  EXPECT_FALSE(c.cfg.sandbox);
  EXPECT_FALSE(c.cfg.seccomp);
}

TEST(Slirp4netnsArgs, Ipv6OnlyWithEnableIpv6AndCidr6Checked) {
  EXPECT_FALSE(parse({"1"}).cfg.ipv6);  // slirp4netns' default: IPv4 only
  EXPECT_TRUE(parse({"-6", "1"}).cfg.ipv6);
  auto c = parse({"-6", "--cidr6=fd42:1::/64", "1"});
  ASSERT_EQ(c.action, Action::Run) << c.error;
  EXPECT_EQ(c.cfg.cidr6, "fd42:1::/64");
  EXPECT_EQ(parse({"-6", "--cidr6", "fd42:1::/48", "1"}).action, Action::Error);  // SLAAC needs a /64
  EXPECT_EQ(parse({"-6", "--cidr6", "fd42:1::1/64", "1"}).action, Action::Error);
  EXPECT_EQ(parse({"-6", "--cidr6", "nonsense", "1"}).action, Action::Error);
}

TEST(Slirp4netnsArgs, RootlessKitShape) {
  auto c = parse({"--mtu", "65520", "-r", "3", "--cidr", "10.0.3.0/24", "--api-socket", "/tmp/s", "4321", "tap0"});
  ASSERT_EQ(c.action, Action::Run) << c.error;
  EXPECT_EQ(c.cfg.cidr, "10.0.3.0/24");
  EXPECT_EQ(c.cfg.target.pid, 4321);
  EXPECT_FALSE(c.cfg.configure);
}

TEST(Slirp4netnsArgs, ShortOptionsAndOrder) {
  auto c = parse({"1", "-c6", "-e3", "--userns-path=/proc/1/ns/user", "--", "tapx"});
  ASSERT_EQ(c.action, Action::Run) << c.error;
  EXPECT_TRUE(c.cfg.configure);
  EXPECT_EQ(c.cfg.exit_fd, 3);
  EXPECT_EQ(c.cfg.tap_name, "tapx");
  EXPECT_EQ(c.cfg.target.userns_path, "/proc/1/ns/user");
  EXPECT_TRUE(c.cfg.ipv6);  // the 6 of -c6
  EXPECT_TRUE(c.warnings.empty());
}

TEST(Slirp4netnsArgs, BadCidr) {
  auto c = parse({"--cidr=10.0.2.1/24", "1"});
  ASSERT_EQ(c.action, Action::Error);
  EXPECT_NE(c.error.find("--cidr"), std::string::npos);
  EXPECT_EQ(parse({"--cidr=10.0.0.0/26", "1"}).action, Action::Error);
  EXPECT_EQ(parse({"--cidr", "nonsense", "1"}).action, Action::Error);
}

TEST(Slirp4netnsArgs, Errors) {
  EXPECT_NE(parse({}).error.find("missing PID"), std::string::npos);
  EXPECT_NE(parse({"abc"}).error.find("PID must be"), std::string::npos);
  EXPECT_NE(parse({"1", "tap0", "extra"}).error.find("too many"), std::string::npos);
  EXPECT_NE(parse({"--bogus", "1"}).error.find("unrecognized option '--bogus'"), std::string::npos);
  EXPECT_NE(parse({"-x", "1"}).error.find("invalid option -- 'x'"), std::string::npos);
  EXPECT_NE(parse({"--configure=yes", "1"}).error.find("doesn't allow"), std::string::npos);
  EXPECT_NE(parse({"--macaddress=02:00:00:00:00:01", "1"}).error.find("only be used with -c"), std::string::npos);
  EXPECT_EQ(parse({"-c", "--macaddress=02:00:00:00:00:01", "1"}).action, Action::Run);
  EXPECT_EQ(parse({"--outbound-addr=1.2.3.4", "1"}).action, Action::Run);  // outbound_addr_test.cpp
  EXPECT_NE(parse({"--target-type=bess", "1"}).error.find("bess"), std::string::npos);
  EXPECT_NE(parse({"--netns-type=tapfd", "1"}).error.find("tapfd"), std::string::npos);
  EXPECT_NE(parse({"--netns-type=foo", "1"}).error.find("pid or path"), std::string::npos);
  EXPECT_NE(parse({"-e", "x", "1"}).error.find("exit-fd"), std::string::npos);
  EXPECT_NE(parse({"1", "this-name-is-too-long"}).error.find("TAPNAME"), std::string::npos);
}

TEST(Slirp4netnsArgs, GetoptLongRules) {
  // Unambiguous abbreviations of long names, as slirp4netns' getopt_long takes them.
  auto c = parse({"--conf", "--mt=9000", "--disable-h", "1"});
  ASSERT_EQ(c.action, Action::Run) << c.error;
  EXPECT_TRUE(c.cfg.configure);
  EXPECT_EQ(c.cfg.mtu, 9000u);
  EXPECT_TRUE(c.cfg.disable_host_loopback);
  EXPECT_EQ(parse({"--enable-s", "1"}).error, "option '--enable-s' is ambiguous");
  // The messages name the long option, whichever form was used.
  EXPECT_EQ(parse({"1", "-e"}).error, "option '--exit-fd' requires an argument");
  EXPECT_EQ(parse({"1", "--api-socket"}).error, "option '--api-socket' requires an argument");
  EXPECT_EQ(parse({"--bogus=1", "1"}).error, "unrecognized option '--bogus'");
  EXPECT_EQ(parse({"--enable-ipv6=1", "1"}).error, "option '--enable-ipv6' doesn't allow an argument");
  EXPECT_EQ(parse({"-c6x", "1"}).error, "invalid option -- 'x'");
  // A value may look like an option; after "--" everything is positional.
  EXPECT_EQ(parse({"--api-socket", "-c", "1"}).cfg.api_socket, "-c");
  auto d = parse({"--netns-type=path", "--", "-odd-path", "tap1"});
  ASSERT_EQ(d.action, Action::Run) << d.error;
  EXPECT_EQ(d.cfg.target.netns_path, "-odd-path");
  EXPECT_EQ(d.cfg.tap_name, "tap1");
  // Options after the positionals, and a second parse starts afresh.
  auto e = parse({"1", "tap2", "-m", "1400"});
  ASSERT_EQ(e.action, Action::Run) << e.error;
  EXPECT_EQ(e.cfg.mtu, 1400u);
  EXPECT_EQ(e.cfg.tap_name, "tap2");
}

TEST(Slirp4netnsArgs, OutboundBothFormsAndBothFamilies) {
  auto c = parse({"--outbound-addr=198.51.100.2", "--outbound-addr6", "eth0", "1234", "tap0"});
  ASSERT_EQ(c.action, Action::Run) << c.error;
  EXPECT_EQ(c.cfg.outbound_addr, "198.51.100.2");
  EXPECT_EQ(c.cfg.outbound_addr6, "eth0");
  auto d = parse({"--outbound-addr", "eth1", "--outbound-addr6=2001:db8::2", "1234"});
  ASSERT_EQ(d.action, Action::Run) << d.error;
  EXPECT_EQ(d.cfg.outbound_addr, "eth1");
  EXPECT_EQ(d.cfg.outbound_addr6, "2001:db8::2");
  EXPECT_TRUE(parse({"1234"}).cfg.outbound_addr.empty());
}

TEST(Slirp4netnsArgs, OutboundBadValuesAreParseErrors) {
  auto a = parse({"--outbound-addr=::1", "1234"});
  ASSERT_EQ(a.action, Action::Error);
  EXPECT_NE(a.error.find("use --outbound-addr6"), std::string::npos) << a.error;
  EXPECT_EQ(parse({"--outbound-addr6=10.0.0.1", "1234"}).action, Action::Error);
  EXPECT_EQ(parse({"--outbound-addr=a/b", "1234"}).action, Action::Error);
  EXPECT_EQ(parse({"1234", "--outbound-addr"}).action, Action::Error);  // no value
}

TEST(Slirp4netnsArgs, HelpAndVersion) {
  EXPECT_EQ(parse({"-h"}).action, Action::Help);
  EXPECT_EQ(parse({"--help"}).action, Action::Help);
  EXPECT_EQ(parse({"-v"}).action, Action::Version);
  EXPECT_EQ(parse({"--version"}).action, Action::Version);
  std::string usage = slirp4netns_usage("slirp4netns");
  EXPECT_EQ(usage.rfind("Usage: slirp4netns [OPTION]... PID|PATH [TAPNAME]", 0), 0u);
  for (const char* o : {"--configure", "--exit-fd", "--ready-fd", "--mtu", "--enable-ipv6", "--api-socket",
                        "--cidr", "--disable-host-loopback", "--netns-type", "--userns-path", "--enable-sandbox",
                        "--enable-seccomp", "--disable-sandbox", "--disable-seccomp", "--outbound-addr", "--outbound-addr6", "--disable-dns",
                        "--macaddress", "--target-type", "--help", "--version"}) {
    EXPECT_NE(usage.find(o), std::string::npos) << o;
  }
  std::string v = slirp4netns_version();
  EXPECT_EQ(v.rfind("slirp4netns version ", 0), 0u);
  for (const char* l : {"\ncommit: ", "\nlibslirp: ", "\nSLIRP_CONFIG_VERSION_MAX: ", "\nlibseccomp: "})
    EXPECT_NE(v.find(l), std::string::npos) << l;
}

}  // namespace
}  // namespace netd
