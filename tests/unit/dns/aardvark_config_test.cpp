// The aardvark-dns config format (docs/man/netd-dns.1.md, FILES): good files, empty columns,
// internal networks, malformed lines, directory loading.
#include "dns/aardvark_config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

using namespace netd::dns;

TEST(AardvarkConfig, ParsesGatewaysUpstreamsAndContainers) {
  std::vector<std::string> w;
  auto n = parse_network_file("podman1",
                              "10.89.0.1,fd00::1 1.1.1.1,[::1]:5353\n"
                              "abc123 10.89.0.2,10.89.0.3 fd00::2 Web,web-alias,DB 8.8.8.8\n"
                              "def456 10.89.0.4  only4\n"
                              "0a0a0a  fd00::5 only6\n"
                              "\n",
                              w);
  ASSERT_TRUE(n) << n.error();
  EXPECT_TRUE(w.empty());
  EXPECT_EQ(n->name, "podman1");
  EXPECT_FALSE(n->internal);
  ASSERT_EQ(n->listen.size(), 2u);
  EXPECT_EQ(n->listen[1].to_string(), "fd00::1");
  ASSERT_EQ(n->upstreams.size(), 2u);
  EXPECT_EQ(n->upstreams[1].port, 5353);
  ASSERT_EQ(n->containers.size(), 3u);
  EXPECT_EQ(n->containers[0].names, (std::vector<std::string>{"web", "web-alias", "db"}));
  EXPECT_EQ(n->containers[0].v4.size(), 2u);
  EXPECT_EQ(n->containers[0].upstreams.size(), 1u);
  EXPECT_TRUE(n->containers[1].v6.empty());
  EXPECT_TRUE(n->containers[2].v4.empty());
  EXPECT_EQ(n->containers[2].v6[0].to_string(), "fd00::5");
}

TEST(AardvarkConfig, InternalNetworkSuffix) {
  std::vector<std::string> w;
  auto n = parse_network_file("backend%int", "10.90.0.1\n", w);
  ASSERT_TRUE(n);
  EXPECT_TRUE(n->internal);
  EXPECT_EQ(n->name, "backend");
}

TEST(AardvarkConfig, MalformedLinesAreSkippedWithAWarning) {
  std::vector<std::string> w;
  auto n = parse_network_file("net",
                              "10.89.0.1\r\n"
                              "too few\n"
                              "a 10.89.0.2 fd00::2 n1 1.1.1.1 extra\n"
                              "b fd00::3  swapped\n"
                              "c 10.89.0.300  badip\n"
                              "d 10.89.0.5  ,,\n"
                              "e 10.89.0.6  ok dns.google\n"
                              " 10.89.0.7  noid\n"
                              "f 10.89.0.8  good\n",
                              w);
  ASSERT_TRUE(n);
  ASSERT_EQ(n->containers.size(), 1u);
  EXPECT_EQ(n->containers[0].names[0], "good");
  EXPECT_EQ(w.size(), 7u);
  for (const auto& s : w) EXPECT_NE(s.find("line skipped"), std::string::npos) << s;
}

TEST(AardvarkConfig, BadFirstLineRejectsTheFile) {
  std::vector<std::string> w;
  EXPECT_FALSE(parse_network_file("n", "not-an-ip\n", w));
  EXPECT_FALSE(parse_network_file("n", "10.0.0.1 1.1.1.1 extra\n", w));
  EXPECT_FALSE(parse_network_file("n", "10.0.0.1 bogus\n", w));
  EXPECT_FALSE(parse_network_file("n", "", w));
  EXPECT_FALSE(parse_network_file("n", "\n\n", w));
}

TEST(AardvarkConfig, LoadsADirectorySkippingThePidFile) {
  char tmpl[] = "/tmp/netd-dns-cfg-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  std::ofstream(dir + "/net1") << "10.1.0.1\nx 10.1.0.2  a\n";
  std::ofstream(dir + "/net2%int") << "10.2.0.1\ny 10.2.0.2  b\n";
  std::ofstream(dir + "/broken") << "garbage\n";
  std::ofstream(dir + "/aardvark.pid") << "1234";
  std::vector<std::string> w;
  auto nets = load_config_dir(dir, w);
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(nets);
  ASSERT_EQ(nets->size(), 2u);
  EXPECT_EQ((*nets)[0].name, "net1");
  EXPECT_TRUE((*nets)[1].internal);
  EXPECT_EQ(w.size(), 1u);
  EXPECT_FALSE(load_config_dir("/nonexistent/netd-dns", w));
}
