// netd pasta's pure parts: the command line (getopt_long with pasta's table),
// the plan made from it and a made-up host network, and the /proc net
// parser of the 'auto' port scan.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "netd/pasta_options.h"
#include "netd/pasta_plan.h"
#include "netd/port_scanner.h"

namespace netd {
namespace {

using net::IpAddr;
using net::IpFamily;
using net::Ipv4Addr;
using net::Ipv6Addr;

PastaOptions parse(std::vector<std::string> args) {
  args.insert(args.begin(), "pasta");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return parse_pasta_args(static_cast<int>(args.size()), argv.data());
}

// ---- Command line ---------------------------------------------------------------

TEST(PastaOptions, Podman5CommandLine) {
  auto o = parse({"--config-net", "--pid", "/run/p.pid", "--dns-forward", "169.254.1.1", "-t", "none", "-u", "none",
                  "-T", "none", "-U", "none", "--no-map-gw", "--quiet", "--netns", "/run/user/1000/netns/x",
                  "--map-guest-addr", "169.254.1.2"});
  ASSERT_EQ(o.action, PastaOptions::Action::Run) << o.error;
  EXPECT_TRUE(o.config_net);
  EXPECT_EQ(o.pid_file, "/run/p.pid");
  EXPECT_EQ(o.dns_forward4, Ipv4Addr::from_octets(169, 254, 1, 1));
  EXPECT_TRUE(o.no_map_gw);
  EXPECT_TRUE(o.quiet);
  EXPECT_EQ(o.netns, "/run/user/1000/netns/x");
  EXPECT_EQ(o.map_guest_addr4, Ipv4Addr::from_octets(169, 254, 1, 2));
  ASSERT_EQ(o.ports.size(), 4u);
  EXPECT_EQ(o.ports[2].opt, 'T');
  EXPECT_EQ(o.ports[2].spec, "none");
}

TEST(PastaOptions, AbbreviationsEqualsFormsClustersAndNetnsNames) {
  auto o = parse({"--netns=ctr1", "-fdm1500", "--map-host-lo", "192.0.2.9", "-a", "2001:db8::5/56", "-a", "10.1.2.3",
                  "-n", "255.255.0.0", "-g", "fe80::1"});
  ASSERT_EQ(o.action, PastaOptions::Action::Run) << o.error;
  EXPECT_EQ(o.netns, "/run/netns/ctr1");
  EXPECT_TRUE(o.foreground);
  EXPECT_TRUE(o.debug);
  EXPECT_EQ(o.mtu, 1500u);
  EXPECT_EQ(o.map_host_loopback4, Ipv4Addr::from_octets(192, 0, 2, 9));
  ASSERT_TRUE(o.addr6);
  EXPECT_EQ(o.addr6->prefix, 56);
  ASSERT_TRUE(o.addr4);
  EXPECT_EQ(o.addr4->prefix, 16);  // from -n
  EXPECT_EQ(o.gateway6, *Ipv6Addr::parse("fe80::1"));
}

TEST(PastaOptions, BadValuesAreErrorsWithPastasWording) {
  EXPECT_EQ(parse({"--mtu", "70000"}).error, "Invalid MTU: 70000 (0..65520)");
  EXPECT_EQ(parse({"-a", "127.0.0.1"}).error, "Invalid guest address: 127.0.0.1");
  EXPECT_EQ(parse({"-g", "0.0.0.0"}).error, "Invalid gateway address: 0.0.0.0");
  EXPECT_EQ(parse({"--dns-forward", "127.0.0.1"}).error, "Invalid DNS forwarding address: 127.0.0.1");
  EXPECT_EQ(parse({"-n", "255.0.255.0"}).error, "Invalid prefix length: 255.0.255.0");
  EXPECT_EQ(parse({"-a", "10.0.0.1/8", "-n", "16"}).error, "Redundant prefix length specification");
  EXPECT_EQ(parse({"-s", "/tmp/x"}).error, "-s is for passt / vhost-user mode only");
  EXPECT_EQ(parse({"--ns-mac-addr", "01:00:00:00:00:01"}).error, "Invalid MAC address: 01:00:00:00:00:01");
}

// --queues is netd's own: 1 by default, 1..8 taken, anything else refused.
TEST(PastaOptions, QueuesTakesOneToEight) {
  EXPECT_EQ(parse({"1234"}).queues, 1u);
  auto o = parse({"--queues", "2", "1234"});
  ASSERT_EQ(o.action, PastaOptions::Action::Run);
  EXPECT_EQ(o.queues, 2u);
  EXPECT_EQ(parse({"--queues=8", "1234"}).queues, 8u);
  EXPECT_EQ(parse({"--queues", "0"}).error, "Invalid --queues: 0 (1..8)");
  EXPECT_EQ(parse({"--queues", "9"}).error, "Invalid --queues: 9 (1..8)");
  EXPECT_EQ(parse({"--queues", "2x"}).error, "Invalid --queues: 2x (1..8)");
  EXPECT_EQ(parse({"--queues", "-1"}).error, "Invalid --queues: -1 (1..8)");
}

TEST(PastaOptions, UnknownOptionsAndMissingValuesAskForTheUsage) {
  auto o = parse({"--map-gw"});  // Podman removes it; pasta itself does not know it
  EXPECT_EQ(o.action, PastaOptions::Action::Error);
  EXPECT_TRUE(o.usage);
  o = parse({"--netns"});
  EXPECT_EQ(o.action, PastaOptions::Action::Error);
  EXPECT_TRUE(o.usage);
  o = parse({"--netn=x"});  // ambiguous: --netns or --netns-only
  EXPECT_EQ(o.action, PastaOptions::Action::Error);
  EXPECT_TRUE(o.usage);
}

TEST(PastaOptions, HelpVersionIgnoredAndPositionals) {
  EXPECT_EQ(parse({"--version"}).action, PastaOptions::Action::Version);
  EXPECT_EQ(parse({"-h"}).action, PastaOptions::Action::Help);
  auto o = parse({"--no-splice", "-e", "1234"});
  ASSERT_EQ(o.action, PastaOptions::Action::Run);
  EXPECT_EQ(o.ignored, (std::vector<std::string>{"--no-splice", "--stderr"}));
  EXPECT_EQ(o.positional, std::vector<std::string>{"1234"});
  // '+': options after the first positional belong to the command.
  o = parse({"sh", "-c", "x"});
  EXPECT_EQ(o.positional, (std::vector<std::string>{"sh", "-c", "x"}));
  EXPECT_TRUE(o.control_socket.empty());
}

// ---- The plan -------------------------------------------------------------------

// A host with eth0 (192.0.2.50/24, 2001:db8::50/64, default routes via
// 192.0.2.1 and fe80::1) and a second interface without a default route.
HostNetwork host() {
  HostNetwork h;
  h.links = {{1, "lo", 65536}, {2, "eth0", 1500}, {3, "wg0", 1420}};
  h.addresses = {{1, IpAddr(Ipv4Addr::from_octets(127, 0, 0, 1)), 8, false, false},
                 {2, IpAddr(Ipv4Addr::from_octets(192, 0, 2, 50)), 24, false, false},
                 {2, IpAddr(*Ipv6Addr::parse("2001:db8::50")), 64, false, false},
                 {2, IpAddr(*Ipv6Addr::parse("fe80::50")), 64, true, false},
                 {3, IpAddr(Ipv4Addr::from_octets(10, 9, 0, 2)), 32, false, false}};
  h.routes = {{3, IpAddr(Ipv4Addr::from_octets(10, 9, 0, 0)), 16, std::nullopt},
              {2, IpAddr(Ipv4Addr{}), 0, IpAddr(Ipv4Addr::from_octets(192, 0, 2, 1))},
              {2, IpAddr(Ipv4Addr::from_octets(192, 0, 2, 0)), 24, std::nullopt},
              {2, IpAddr(Ipv6Addr{}), 0, IpAddr(*Ipv6Addr::parse("fe80::1"))},
              {2, IpAddr(*Ipv6Addr::parse("2001:db8::")), 64, std::nullopt}};
  return h;
}
const std::vector<dns::UpstreamServer> kResolv = {{"127.0.0.53", 53}, {"192.0.2.200", 53}};

TEST(PastaPlan, CopiesTheDefaultRouteInterface) {
  auto p = make_pasta_plan(parse({"--config-net", "--no-map-gw", "--dns-forward", "169.254.1.1", "--map-guest-addr",
                                  "169.254.1.2"}),
                           host(), kResolv);
  ASSERT_TRUE(p) << p.error();
  const auto& s = p->stack;
  EXPECT_TRUE(s.copied());
  EXPECT_EQ(s.guest, Ipv4Addr::from_octets(192, 0, 2, 50));
  EXPECT_EQ(s.cidr.prefix, 24);
  EXPECT_EQ(s.gateway, Ipv4Addr::from_octets(192, 0, 2, 1));
  EXPECT_TRUE(s.map_host_loopback.is_unspecified());  // --no-map-gw
  EXPECT_EQ(s.guest_alias, Ipv4Addr::from_octets(169, 254, 1, 2));
  EXPECT_EQ(s.dns, Ipv4Addr::from_octets(169, 254, 1, 1));
  ASSERT_TRUE(s.ipv6);
  EXPECT_EQ(s.guest6, *Ipv6Addr::parse("2001:db8::50"));
  EXPECT_EQ(s.gateway6, *Ipv6Addr::parse("fe80::1"));
  EXPECT_EQ(s.router_ll, *Ipv6Addr::parse("fe80::1"));  // the link-local gateway itself
  EXPECT_FALSE(s.router_advertisements);
  EXPECT_EQ(s.mtu, 65520u);
  EXPECT_EQ(p->dns_upstreams, kResolv);
  EXPECT_TRUE(s.announce_dns.empty());  // pasta announces nothing unless asked
  EXPECT_EQ(p->tap.name, "eth0");
  EXPECT_TRUE(p->tap.configure);
  ASSERT_EQ(p->tap.addresses.size(), 2u);
  EXPECT_EQ(p->tap.addresses[0].cidr, "192.0.2.50/24");
  EXPECT_EQ(p->tap.addresses[1].cidr, "2001:db8::50/64");
  // The template's routes, copied: default and subnet routes of both families.
  ASSERT_EQ(p->tap.routes.size(), 4u);
  EXPECT_EQ(p->tap.routes[0].dst, "0.0.0.0/0");
  EXPECT_EQ(p->tap.routes[0].gateway, "192.0.2.1");
  EXPECT_EQ(p->tap.routes[2].dst, "::/0");
}

TEST(PastaPlan, MapGwByDefaultAndExplicitAddressesWin) {
  auto p = make_pasta_plan(parse({"--config-net", "-a", "10.0.0.5/16", "-g", "10.0.0.1", "-I", "ns0", "-m", "9000",
                                  "--ns-mac-addr", "02:00:00:00:00:05", "-4"}),
                           host(), kResolv);
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->stack.guest, Ipv4Addr::from_octets(10, 0, 0, 5));
  EXPECT_EQ(p->stack.cidr.prefix, 16);
  EXPECT_EQ(p->stack.map_host_loopback, Ipv4Addr::from_octets(10, 0, 0, 1));
  EXPECT_FALSE(p->stack.ipv6);  // -4
  EXPECT_EQ(p->tap.name, "ns0");
  EXPECT_EQ(p->tap.mtu, 9000u);
  EXPECT_EQ(p->tap.mac, "02:00:00:00:00:05");
  ASSERT_EQ(p->tap.addresses.size(), 1u);
  EXPECT_EQ(p->tap.addresses[0].cidr, "10.0.0.5/16");
  ASSERT_EQ(p->tap.routes.size(), 1u);
  EXPECT_EQ(p->tap.routes[0].gateway, "10.0.0.1");
}

TEST(PastaPlan, NoTemplateMeansLocalMode) {
  HostNetwork bare;
  bare.links = {{1, "lo", 65536}};
  auto p = make_pasta_plan(parse({"--config-net"}), bare, {});
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->stack.guest, Ipv4Addr::from_octets(169, 254, 2, 1));
  EXPECT_EQ(p->stack.gateway, Ipv4Addr::from_octets(169, 254, 2, 2));
  EXPECT_EQ(p->stack.cidr.prefix, 16);
  EXPECT_FALSE(p->stack.guest6);
  EXPECT_EQ(p->stack.gateway6, *Ipv6Addr::parse("fe80::1"));
  EXPECT_EQ(p->tap.name, "tap0");
  EXPECT_TRUE(p->dns_upstreams.empty());
}

TEST(PastaPlan, InterfaceOptionsPickTheTemplateAndUnknownOnesFail) {
  auto p = make_pasta_plan(parse({"-i", "wg0", "-g", "10.9.0.1", "-4"}), host(), kResolv);
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->stack.guest, Ipv4Addr::from_octets(10, 9, 0, 2));
  EXPECT_EQ(p->stack.cidr.prefix, 32);
  auto bad = make_pasta_plan(parse({"-i", "nope0"}), host(), kResolv);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("nope0"), std::string::npos);
}

TEST(PastaPlan, DnsHostAndAnnouncedServers) {
  auto p = make_pasta_plan(parse({"--dns-forward", "169.254.1.1", "--dns-host", "192.0.2.99", "--dhcp-dns"}), host(),
                           kResolv);
  ASSERT_TRUE(p) << p.error();
  ASSERT_EQ(p->dns_upstreams.size(), 1u);
  EXPECT_EQ(p->dns_upstreams[0].addr, "192.0.2.99");
  // The host's loopback resolver is announced as the forwarding address.
  EXPECT_EQ(p->stack.announce_dns, (std::vector<Ipv4Addr>{Ipv4Addr::from_octets(169, 254, 1, 1),
                                                          Ipv4Addr::from_octets(192, 0, 2, 200)}));
  auto d = make_pasta_plan(parse({"-D", "192.0.2.7", "-D", "2001:db8::7"}), host(), kResolv);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->stack.announce_dns, std::vector<Ipv4Addr>{Ipv4Addr::from_octets(192, 0, 2, 7)});
  EXPECT_EQ(d->stack.announce_dns6, std::vector<Ipv6Addr>{*Ipv6Addr::parse("2001:db8::7")});
}

TEST(HostNetwork, TemplatePickSkipsLoopbackAndLinkLocalRoutes) {
  HostNetwork h = host();
  EXPECT_EQ(pick_template_interface(h, IpFamily::V4), 2);
  EXPECT_EQ(pick_template_interface(h, IpFamily::V6), 2);
  h.routes.erase(h.routes.begin() + 1);  // no IPv4 default route: the first interface with any route
  EXPECT_EQ(pick_template_interface(h, IpFamily::V4), 3);
  auto t = host_template(h, IpFamily::V6, 2);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->link_local, IpAddr(*Ipv6Addr::parse("fe80::50")));
  EXPECT_FALSE(host_template(h, IpFamily::V4, 99));
}

// ---- /proc/net parsing -------------------------------------------------------------

TEST(PortScanner, ListeningTcpAndBoundUdpPortsFromProcText) {
  const char* tcp =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
      "   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n"
      "   1: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1\n"
      "   2: 0100007F:9C40 0100007F:0050 01 00000000:00000000 00:00000000 00000000     0        0 3 1\n"
      "garbage line\n"
      "   3: 00000000:0000 00000000:0000 0A\n";
  EXPECT_EQ(parse_bound_ports(tcp, 0x0A), (std::set<uint16_t>{80, 8080}));
  const char* udp6 =
      "  sl  local_address                         remote_address                        st\n"
      "   0: 00000000000000000000000000000000:14E9 00000000000000000000000000000000:0000 07 x\n";
  EXPECT_EQ(parse_bound_ports(udp6, 0x07), std::set<uint16_t>{5353});
  EXPECT_TRUE(parse_bound_ports("", 0x0A).empty());
}

}  // namespace
}  // namespace netd
