// pasta's -t/-u/-T/-U specs: each form and each error. The expected rule
// lines are what pesto --show prints for the same spec and capabilities.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "portfwd/fwd_spec.h"

namespace netd::portfwd {
namespace {

constexpr uint32_t kAll = FwdCap::kAll;
constexpr PortRange kEphemeral{32768, 60999};  // a common ip_local_port_range

std::vector<std::string> lines(const FwdTable& t) {
  std::vector<std::string> out;
  for (const auto& r : t.rules) out.push_back(r.to_string());
  return out;
}

// The rules of `option spec` added to an empty table with `caps`.
std::vector<std::string> rules_of(char option, const char* spec, uint32_t caps = kAll) {
  FwdTable t;
  t.caps = caps;
  auto r = apply_port_spec(option, spec, SpecAction::Add, t, kEphemeral);
  EXPECT_TRUE(r.has_value()) << "-" << option << " " << spec << ": " << (r ? "" : r.error());
  return lines(t);
}

std::string error_of(char option, const char* spec, uint32_t caps = kAll) {
  FwdTable t;
  t.caps = caps;
  auto r = apply_port_spec(option, spec, SpecAction::Add, t, kEphemeral);
  EXPECT_FALSE(r.has_value()) << "-" << option << " " << spec << " was accepted";
  EXPECT_TRUE(t.rules.empty()) << "a failed spec changed the table";
  return r ? "" : r.error();
}

using L = std::vector<std::string>;

TEST(FwdSpec, SinglePortsRangesAndTargets) {
  EXPECT_EQ(rules_of('t', "22"), L{"TCP [*]:22  =>  22 "});
  EXPECT_EQ(rules_of('t', "22:23"), L{"TCP [*]:22  =>  23 "});
  EXPECT_EQ(rules_of('t', "22,25"), (L{"TCP [*]:22  =>  22 ", "TCP [*]:25  =>  25 "}));
  EXPECT_EQ(rules_of('t', "22-80"), L{"TCP [*]:22-80  =>  22-80 "});
  EXPECT_EQ(rules_of('t', "22-80:32-90"), L{"TCP [*]:22-80  =>  32-90 "});
  EXPECT_EQ(rules_of('u', "53"), L{"UDP [*]:53  =>  53 "});
  EXPECT_EQ(rules_of('t', "65535:65535"), L{"TCP [*]:65535  =>  65535 "});
  EXPECT_EQ(rules_of('t', "010"), L{"TCP [*]:10  =>  10 "});
}

TEST(FwdSpec, NumbersReadLikeStrtoul) {
  EXPECT_EQ(rules_of('t', "+10"), L{"TCP [*]:10  =>  10 "});
  EXPECT_EQ(rules_of('t', "22-+25"), L{"TCP [*]:22-25  =>  22-25 "});
  EXPECT_EQ(rules_of('t', "22,\t25"), (L{"TCP [*]:22  =>  22 ", "TCP [*]:25  =>  25 "}));
  EXPECT_EQ(error_of('t', "-1"), "invalid port specifier '-1'");
  EXPECT_EQ(error_of('t', "99999999999999999999999"), "invalid port specifier '99999999999999999999999'");
  // "-0" is 0, which no rule may use.
  EXPECT_NE(error_of('t', "-0").find("forwards from port 0"), std::string::npos);
}

TEST(FwdSpec, ListeningAddressAndInterface) {
  EXPECT_EQ(rules_of('t', "192.0.2.1/5"), L{"TCP [192.0.2.1]:5  =>  5 "});
  EXPECT_EQ(rules_of('t', "192.0.2.1%eth0/22"), L{"TCP [192.0.2.1]%eth0:22  =>  22 "});
  EXPECT_EQ(rules_of('t', "%eth0/22"), L{"TCP [*]%eth0:22  =>  22 "});
  EXPECT_EQ(rules_of('t', "*%lo/22"), L{"TCP [*]%lo:22  =>  22 "});
  EXPECT_EQ(rules_of('t', "*/22"), L{"TCP [*]:22  =>  22 "});
  EXPECT_EQ(rules_of('t', "/22"), L{"TCP [*]:22  =>  22 "});
  EXPECT_EQ(rules_of('t', "[1.2.3.4]/22"), L{"TCP [1.2.3.4]:22  =>  22 "});
  EXPECT_EQ(rules_of('t', "::ffff:1.2.3.4/22"), L{"TCP [1.2.3.4]:22  =>  22 "});
  EXPECT_EQ(rules_of('t', "fe80::1%eth0/22"), L{"TCP [fe80::1]%eth0:22  =>  22 "});
  // Podman's two rules for one published port.
  FwdTable t;
  t.caps = kAll;
  ASSERT_TRUE(apply_port_spec('t', "0.0.0.0/8080", SpecAction::Add, t, kEphemeral));
  ASSERT_TRUE(apply_port_spec('t', "[::]/8080", SpecAction::Add, t, kEphemeral));
  EXPECT_EQ(lines(t), (L{"TCP [0.0.0.0]:8080  =>  8080 ", "TCP [::]:8080  =>  8080 "}));
  EXPECT_FALSE(t.rules[0].any_address);
  EXPECT_TRUE(t.rules[0].addr.is_v4());
}

TEST(FwdSpec, TargetAddresses) {
  EXPECT_EQ(rules_of('t', "0.0.0.0/5000:192.0.2.5/6000"), L{"TCP [0.0.0.0]:5000  =>  192.0.2.5:6000 "});
  EXPECT_EQ(rules_of('t', "0.0.0.0/22:1.2.3.4"), L{"TCP [0.0.0.0]:22  =>  1.2.3.4:22 "});
  EXPECT_EQ(rules_of('t', "[::]/22:::1"), L{"TCP [::]:22  =>  ::1:22 "});
  EXPECT_EQ(rules_of('t', "[::1]/22:[::2]/23"), L{"TCP [::1]:22  =>  ::2:23 "});
  EXPECT_EQ(rules_of('t', "[::1]/22-23:[::2]"), L{"TCP [::1]:22-23  =>  ::2:22-23 "});
  EXPECT_EQ(rules_of('t', "[::1]/22-23:::2/24-25"), L{"TCP [::1]:22-23  =>  ::2:24-25 "});
  // "80:fe80::1/90" reads as listening address 80:fe80::1, port 90.
  EXPECT_EQ(rules_of('t', "80:fe80::1/90"), L{"TCP [80:fe80::1]:90  =>  90 "});
  EXPECT_EQ(rules_of('t', "0.0.0.0/22-23:1.2.3.4/24-25,~22"), L{"TCP [0.0.0.0]:23  =>  1.2.3.4:25 "});
  auto rule = [] {
    FwdTable t;
    t.caps = kAll;
    EXPECT_TRUE(apply_port_spec('t', "0.0.0.0/5000:192.0.2.5/6000", SpecAction::Add, t, kEphemeral));
    return t.rules.at(0);
  }();
  EXPECT_TRUE(rule.has_target());
  EXPECT_EQ(rule.target.to_string(), "192.0.2.5");
  EXPECT_EQ(rule.target_port(5000), 6000);
}

TEST(FwdSpec, ExclusionsSplitRanges) {
  EXPECT_EQ(rules_of('t', "5-25,~10-20"), (L{"TCP [*]:5-9  =>  5-9 ", "TCP [*]:21-25  =>  21-25 "}));
  EXPECT_EQ(rules_of('t', "192.0.2.1/20-30,~25"),
            (L{"TCP [192.0.2.1]:20-24  =>  20-24 ", "TCP [192.0.2.1]:26-30  =>  26-30 "}));
  EXPECT_EQ(rules_of('t', "2000-5000,~3000-3010"),
            (L{"TCP [*]:2000-2999  =>  2000-2999 ", "TCP [*]:3011-5000  =>  3011-5000 "}));
  // A mapped range keeps its offset across the hole.
  EXPECT_EQ(rules_of('t', "10-12:20-22,~11"), (L{"TCP [*]:10  =>  20 ", "TCP [*]:12  =>  22 "}));
  // Everything excluded: no rule at all, and no error.
  EXPECT_EQ(rules_of('t', "1-100,~1-100"), L{});
}

TEST(FwdSpec, AllAutoAndExclusionsOnlyMeanEveryNonEphemeralPort) {
  EXPECT_EQ(rules_of('t', "all"), (L{"TCP [*]:1-32767  =>  1-32767  (best effort)",
                                     "TCP [*]:61000-65535  =>  61000-65535  (best effort)"}));
  EXPECT_EQ(rules_of('u', "auto"), (L{"UDP [*]:1-32767  =>  1-32767  (best effort) (auto-scan)",
                                      "UDP [*]:61000-65535  =>  61000-65535  (best effort) (auto-scan)"}));
  EXPECT_EQ(rules_of('t', "~25"), (L{"TCP [*]:1-24  =>  1-24  (best effort)", "TCP [*]:26-32767  =>  26-32767  (best effort)",
                                     "TCP [*]:61000-65535  =>  61000-65535  (best effort)"}));
  EXPECT_EQ(rules_of('t', "127.0.0.1/all"), (L{"TCP [127.0.0.1]:1-32767  =>  1-32767  (best effort)",
                                               "TCP [127.0.0.1]:61000-65535  =>  61000-65535  (best effort)"}));
  EXPECT_EQ(rules_of('t', "127.0.0.6/all:192.0.2.6"),
            (L{"TCP [127.0.0.6]:1-32767  =>  192.0.2.6:1-32767  (best effort)",
               "TCP [127.0.0.6]:61000-65535  =>  192.0.2.6:61000-65535  (best effort)"}));
  // The last all:TADDR wins.
  EXPECT_EQ(rules_of('t', "1.2.3.4/all:5.6.7.8,all:9.9.9.9").at(0),
            "TCP [1.2.3.4]:1-32767  =>  9.9.9.9:1-32767  (best effort)");
  // With an include range, 'all' adds nothing.
  EXPECT_EQ(rules_of('t', "all,22"), L{"TCP [*]:22  =>  22 "});
  EXPECT_EQ(rules_of('t', "22,all"), L{"TCP [*]:22  =>  22 "});
  // 'auto' marks the include ranges as scanning, wherever it stands.
  EXPECT_EQ(rules_of('t', "8000-8010,auto"), L{"TCP [*]:8000-8010  =>  8000-8010  (auto-scan)"});
  EXPECT_EQ(rules_of('t', "192.0.2.2/auto").at(0), "TCP [192.0.2.2]:1-32767  =>  1-32767  (best effort) (auto-scan)");
  // With the RFC 6335 range.
  FwdTable t;
  t.caps = kAll;
  ASSERT_TRUE(apply_port_spec('t', "all", SpecAction::Add, t));
  EXPECT_EQ(lines(t), L{"TCP [*]:1-49151  =>  1-49151  (best effort)"});
  EXPECT_TRUE(t.rules[0].weak);
  EXPECT_FALSE(t.rules[0].scan);
}

TEST(FwdSpec, OutboundListensOnTheNamespaceLoopback) {
  EXPECT_EQ(rules_of('T', "8080"), L{"TCP [*]%lo:8080  =>  8080 "});
  EXPECT_EQ(rules_of('U', "5353"), L{"UDP [*]%lo:5353  =>  5353 "});
  EXPECT_EQ(error_of('T', "1.2.3.4/22"), "a listening address is not allowed for -T 1.2.3.4/22");
  EXPECT_EQ(error_of('U', "%lo/22"), "a listening address is not allowed for -U %lo/22");
  // Without SO_BINDTODEVICE: 127.0.0.1 and ::1, with a warning.
  FwdTable t;
  t.caps = kAll & ~FwdCap::kIfname;
  std::vector<std::string> warnings;
  ASSERT_TRUE(apply_port_spec('T', "22", SpecAction::Add, t, kEphemeral, &warnings));
  EXPECT_EQ(lines(t), (L{"TCP [127.0.0.1]:22  =>  22 ", "TCP [::1]:22  =>  22 "}));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("forwarding only 127.0.0.1 and ::1 for -T 22"), std::string::npos);
  // ... and only the loopback of an enabled family.
  EXPECT_EQ(rules_of('T', "22", FwdCap::kIpv6 | FwdCap::kTcp), L{"TCP [::1]:22  =>  22 "});
}

TEST(FwdSpec, OneIpVersionNeedsNoDualStackRule) {
  const uint32_t v4 = kAll & ~FwdCap::kIpv6, v6 = kAll & ~FwdCap::kIpv4;
  EXPECT_EQ(rules_of('t', "22", v4), L{"TCP [0.0.0.0]:22  =>  22 "});
  EXPECT_EQ(rules_of('t', "22", v6), L{"TCP [::]:22  =>  22 "});
  EXPECT_EQ(rules_of('T', "22", v4), L{"TCP [0.0.0.0]%lo:22  =>  22 "});
  EXPECT_NE(error_of('t', "22", FwdCap::kTcp | FwdCap::kUdp).find("an IPv6 rule, but IPv6 is not enabled"),
            std::string::npos);
}

TEST(FwdSpec, None) {
  EXPECT_EQ(rules_of('t', "none"), L{});
  FwdTable t;
  t.caps = kAll;
  ASSERT_TRUE(apply_port_spec('t', "22", SpecAction::Add, t, kEphemeral));
  auto r = apply_port_spec('t', "none", SpecAction::Add, t, kEphemeral);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "-t none conflicts with the TCP rules given before it");
  // Another protocol's none is fine.
  EXPECT_TRUE(apply_port_spec('u', "none", SpecAction::Add, t, kEphemeral));
  EXPECT_EQ(error_of('t', "none,22"), "invalid port specifier 'none,22'");
  EXPECT_EQ(error_of('t', "NONE"), "invalid port specifier 'NONE'");
}

TEST(FwdSpec, SyntaxErrors) {
  for (const char* spec : {"22x", "65536", "22-21", "22-", "22:", "22,", ",22", "allx", "*", "*22", "%lo", "",
                           "65534-65535:65535-65536", "22-24:30-31", "65534-65535:65535", "01.2.3.4/22", "1.2.3/22",
                           "[fe80::1%eth0]/22", "::1%/22", "1.2.3.4%/22", "1.2.3.4%eth0\t/22", "~", "~x", "22:abc"}) {
    std::string e = error_of('t', spec);
    EXPECT_EQ(e.rfind("invalid port specifier '", 0), 0u) << spec << ": " << e;
  }
  // The message quotes the ports, not the address.
  EXPECT_EQ(error_of('t', "1.2.3.4/"), "invalid port specifier ''");
  EXPECT_EQ(error_of('t', "%verylonginterfacename/22"), "invalid port specifier '%verylonginterfacename/22'");
}

TEST(FwdSpec, EmbeddedNulIsInvalid) {
  FwdTable t;
  t.caps = kAll;
  auto r = apply_port_spec('t', std::string_view("22\0 3", 5), SpecAction::Add, t, kEphemeral);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "invalid port specifier");
}

TEST(FwdSpec, SemanticErrors) {
  EXPECT_EQ(error_of('t', "%./22"), "invalid interface name: .");
  EXPECT_EQ(error_of('t', "%../22"), "invalid interface name: ..");
  EXPECT_EQ(error_of('t', "%eth0/22", kAll & ~FwdCap::kIfname),
            "binding to an interface for -t %eth0/22 is unsupported here (SO_BINDTODEVICE needs Linux 5.7 or later)");
  EXPECT_EQ(error_of('t', "auto", kAll & ~FwdCap::kScan), "'auto' port forwarding is only for pasta");
  EXPECT_EQ(error_of('t', "0"), "cannot add rule TCP [*]:0  =>  0: it forwards from port 0");
  EXPECT_EQ(error_of('t', "22:0"), "cannot add rule TCP [*]:22  =>  0: it forwards to port 0");
  EXPECT_EQ(error_of('t', "22,22"), "cannot add rule TCP [*]:22  =>  22: it conflicts with rule TCP [*]:22  =>  22");
  EXPECT_EQ(error_of('t', "20-30,25"),
            "cannot add rule TCP [*]:25  =>  25: it conflicts with rule TCP [*]:20-30  =>  20-30");
  EXPECT_EQ(error_of('t', "22", kAll & ~FwdCap::kTcp), "cannot add rule TCP [*]:22  =>  22: TCP is not enabled");
  EXPECT_EQ(error_of('u', "22", kAll & ~FwdCap::kUdp), "cannot add rule UDP [*]:22  =>  22: UDP is not enabled");
  EXPECT_NE(error_of('t', "22:1.2.3.4").find("a rule for every address cannot forward to one IPv4 address (give the "
                                            "listening address 0.0.0.0/... instead)"),
            std::string::npos);
  EXPECT_NE(error_of('t', "22:[::1]").find("give the listening address [::]/... instead"), std::string::npos);
  EXPECT_NE(error_of('t', "0.0.0.0/22:::1").find("it forwards from IPv4 to IPv6"), std::string::npos);
  EXPECT_NE(error_of('t', "0.0.0.0/22:224.0.0.1").find("multicast or broadcast"), std::string::npos);
  EXPECT_NE(error_of('t', "0.0.0.0/22:255.255.255.255").find("multicast or broadcast"), std::string::npos);
  EXPECT_NE(error_of('t', "[::]/22:ff02::1").find("multicast or broadcast"), std::string::npos);
  EXPECT_EQ(error_of('x', "22"), "unknown forwarding option -x");
}

TEST(FwdSpec, TableLimits) {
  FwdTable t;
  t.caps = kAll;
  // 255 rules fit, the 256th does not.
  std::string spec;
  for (int p = 1; p <= 255; ++p) spec += (p > 1 ? "," : "") + std::to_string(p * 2);
  ASSERT_TRUE(apply_port_spec('t', spec, SpecAction::Add, t, kEphemeral));
  EXPECT_EQ(t.rules.size(), 255u);
  auto r = apply_port_spec('t', "1000", SpecAction::Add, t, kEphemeral);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("too many rules (at most 255)"), std::string::npos);
  // At most 5 x 65536 listening sockets: five whole ranges fit, a sixth does not.
  FwdTable big;
  big.caps = kAll;
  for (int i = 1; i <= 5; ++i)
    ASSERT_TRUE(apply_port_spec('t', "10.0.0." + std::to_string(i) + "/1-65535", SpecAction::Add, big, kEphemeral));
  EXPECT_EQ(big.socket_count(), 5u * 65535);
  auto sixth = apply_port_spec('t', "10.0.0.6/1-65535", SpecAction::Add, big, kEphemeral);
  ASSERT_FALSE(sixth);
  EXPECT_NE(sixth.error().find("more than 327680 listening sockets"), std::string::npos);
  EXPECT_TRUE(apply_port_spec('t', "10.0.0.6/1-5", SpecAction::Add, big, kEphemeral));
}

TEST(FwdSpec, Delete) {
  FwdTable t;
  t.caps = kAll;
  ASSERT_TRUE(apply_port_spec('t', "22,80", SpecAction::Add, t, kEphemeral));
  ASSERT_TRUE(apply_port_spec('t', "80", SpecAction::Delete, t, kEphemeral));
  EXPECT_EQ(lines(t), L{"TCP [*]:22  =>  22 "});
  auto missing = apply_port_spec('t', "81", SpecAction::Delete, t, kEphemeral);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), "cannot delete rule TCP [*]:81  =>  81: no such rule");
  // Deleting part of a rule is refused; the table is unchanged.
  FwdTable range;
  range.caps = kAll;
  ASSERT_TRUE(apply_port_spec('t', "20-30", SpecAction::Add, range, kEphemeral));
  auto part = apply_port_spec('t', "25", SpecAction::Delete, range, kEphemeral);
  ASSERT_FALSE(part);
  EXPECT_EQ(part.error(), "cannot delete rule TCP [*]:25  =>  25: it overlaps rule TCP [*]:20-30  =>  20-30 without "
                          "matching it");
  EXPECT_EQ(range.rules.size(), 1u);
  // A spec deletes exactly the rules it would add; then adding again works.
  FwdTable podman;
  podman.caps = kAll;
  for (const char* s : {"0.0.0.0/8080", "[::]/8080", "127.0.0.1/9090"})
    ASSERT_TRUE(apply_port_spec('t', s, SpecAction::Add, podman, kEphemeral));
  ASSERT_TRUE(apply_port_spec('t', "0.0.0.0/8080", SpecAction::Delete, podman, kEphemeral));
  ASSERT_TRUE(apply_port_spec('t', "[::]/8080", SpecAction::Delete, podman, kEphemeral));
  EXPECT_EQ(lines(podman), L{"TCP [127.0.0.1]:9090  =>  9090 "});
  ASSERT_TRUE(apply_port_spec('t', "0.0.0.0/8080", SpecAction::Add, podman, kEphemeral));
  // all/auto delete their several rules.
  FwdTable a;
  a.caps = kAll;
  ASSERT_TRUE(apply_port_spec('t', "auto", SpecAction::Add, a, kEphemeral));
  ASSERT_TRUE(apply_port_spec('t', "auto", SpecAction::Delete, a, kEphemeral));
  EXPECT_TRUE(a.rules.empty());
}

TEST(FwdSpec, PastaStartUpTables) {
  std::vector<std::string> warnings;
  auto t = build_pasta_tables({{'t', "none"}, {'u', "none"}, {'T', "none"}, {'U', "none"}}, kAll, kEphemeral, &warnings);
  ASSERT_TRUE(t) << t.error();
  EXPECT_TRUE(t->inbound.rules.empty());
  EXPECT_TRUE(t->outbound.rules.empty());
  EXPECT_EQ(t->inbound.caps, kAll);
  // Podman's published port, and 'auto' for the options not given.
  auto p = build_pasta_tables({{'t', "127.0.0.1/8080:80"}, {'u', "none"}}, kAll, kEphemeral);
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(lines(p->inbound), L{"TCP [127.0.0.1]:8080  =>  80 "});
  EXPECT_EQ(lines(p->outbound), (L{"TCP [*]%lo:1-32767  =>  1-32767  (best effort) (auto-scan)",
                                   "TCP [*]%lo:61000-65535  =>  61000-65535  (best effort) (auto-scan)",
                                   "UDP [*]%lo:1-32767  =>  1-32767  (best effort) (auto-scan)",
                                   "UDP [*]%lo:61000-65535  =>  61000-65535  (best effort) (auto-scan)"}));
  auto bad = build_pasta_tables({{'t', "22x"}}, kAll, kEphemeral);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), "-t 22x: invalid port specifier '22x'");
  auto conflict = build_pasta_tables({{'t', "22"}, {'t', "none"}}, kAll, kEphemeral);
  ASSERT_FALSE(conflict);
  EXPECT_EQ(conflict.error(), "-t none: -t none conflicts with the TCP rules given before it");
}

TEST(FwdSpec, EphemeralRangeProbe) {
  std::string warning;
  PortRange r = read_ephemeral_ports(&warning);
  EXPECT_LE(r.first, r.last);
  if (warning.empty()) {
    EXPECT_GT(r.first, 1023);  // the sysctl was read
  }
}

}  // namespace
}  // namespace netd::portfwd
