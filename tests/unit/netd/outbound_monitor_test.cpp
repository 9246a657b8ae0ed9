// OutboundTracker: the outbound interface's address choice after address
// events, by the start-up rule (first address of the family; IPv6 never
// link-local), with "no address left" reported once.
#include "netd/outbound_monitor.h"

#include <gtest/gtest.h>

namespace netd {
namespace {

net::IpAddr ip(const char* s) { return *net::IpAddr::parse(s); }
using Kind = OutboundTracker::Change::Kind;

TEST(OutboundTracker, SecondAddressKeepsTheFirst) {
  OutboundTracker t("eth1", net::IpFamily::V4, {{"eth1", ip("198.51.100.2")}, {"eth0", ip("192.0.2.1")}},
                    ip("198.51.100.2"));
  EXPECT_EQ(t.on_address(ip("198.51.100.3"), true).kind, Kind::None);
  auto c = t.on_address(ip("198.51.100.2"), false);
  EXPECT_EQ(c.kind, Kind::NewAddress);
  EXPECT_EQ(c.addr, ip("198.51.100.3"));
  EXPECT_EQ(t.chosen(), ip("198.51.100.3"));
}

TEST(OutboundTracker, OtherFamilyIsIgnored) {
  OutboundTracker t("eth1", net::IpFamily::V4, {{"eth1", ip("198.51.100.2")}}, ip("198.51.100.2"));
  EXPECT_EQ(t.on_address(ip("2001:db8::5"), true).kind, Kind::None);
  EXPECT_EQ(t.chosen(), ip("198.51.100.2"));
}

TEST(OutboundTracker, LostAddressIsReportedOnceThenANewOneTakesOver) {
  OutboundTracker t("eth1", net::IpFamily::V4, {{"eth1", ip("198.51.100.2")}}, ip("198.51.100.2"));
  auto lost = t.on_address(ip("198.51.100.2"), false);
  EXPECT_EQ(lost.kind, Kind::NoAddress);
  EXPECT_EQ(lost.addr, ip("198.51.100.2"));  // kept
  EXPECT_EQ(t.on_address(ip("198.51.100.2"), false).kind, Kind::None);  // said once
  auto back = t.on_address(ip("198.51.100.9"), true);
  EXPECT_EQ(back.kind, Kind::NewAddress);
  EXPECT_EQ(back.addr, ip("198.51.100.9"));
}

TEST(OutboundTracker, Ipv6LinkLocalIsNeverChosen) {
  OutboundTracker t("eth1", net::IpFamily::V6, {{"eth1", ip("fe80::1")}, {"eth1", ip("2001:db8::2")}},
                    ip("2001:db8::2"));
  EXPECT_EQ(t.on_address(ip("2001:db8::2"), false).kind, Kind::NoAddress);
  EXPECT_EQ(t.on_address(ip("fe80::2"), true).kind, Kind::None);
  auto c = t.on_address(ip("2001:db8::7"), true);
  EXPECT_EQ(c.kind, Kind::NewAddress);
  EXPECT_EQ(c.addr, ip("2001:db8::7"));
}

// The same address announced again (a lifetime refresh) changes nothing.
TEST(OutboundTracker, RepeatedAnnouncementIsNoChange) {
  OutboundTracker t("eth1", net::IpFamily::V4, {{"eth1", ip("198.51.100.2")}}, ip("198.51.100.2"));
  EXPECT_EQ(t.on_address(ip("198.51.100.2"), true).kind, Kind::None);
  EXPECT_EQ(t.on_address(ip("198.51.100.2"), true).kind, Kind::None);
  EXPECT_EQ(t.on_address(ip("198.51.100.2"), false).kind, Kind::NoAddress);
}

}  // namespace
}  // namespace netd
