// netd doctor's verdicts from made-up host facts: a healthy host first, then
// one fault at a time, each with the status and the fix it must name.
#include <cerrno>

#include <gtest/gtest.h>

#include "netd/doctor_checks.h"

namespace netd::doctor {
namespace {

constexpr const char* kNetd = "/usr/bin/netd";

HostFacts healthy_user() {
  HostFacts f;
  f.uid = 1000;
  f.user = "alice";
  f.groups = {1000, 27};
  f.subuid = "root:1:2\nalice:100000:65536\n";
  f.subgid = "alice:100000:65536\n";
  f.newuidmap = f.newgidmap = {true, true};
  f.unprivileged_userns_clone = "1";
  f.max_user_namespaces = "63000";
  f.io_uring_disabled = "0";
  f.ping_group_range = "0 2147483647";
  f.unprivileged_port_start = "1024";
  f.nftables = Attempt{};
  f.podman_version_output = "podman version 4.3.1\n";
  f.podman_info_json =
      R"({"host": {"security": {"rootless": true}, "slirp4netns": {"executable": "/usr/libexec/netd/slirp4netns"}}})";
  f.slirp4netns_resolved = kNetd;
  f.helpers_dir = "/usr/libexec/netd";
  f.netd_exe = kNetd;
  return f;
}

const Check& find(const std::vector<Check>& checks, const std::string& name) {
  for (const auto& c : checks)
    if (c.name == name) return c;
  static Check none{Status::Fail, "missing", "no such check", ""};
  ADD_FAILURE() << "no check named " << name;
  return none;
}

Check run(const HostFacts& f, const std::string& name) { return find(evaluate(f), name); }

TEST(Doctor, HealthyHostIsAllOkInOrder) {
  auto checks = evaluate(healthy_user());
  std::vector<std::string> names;
  for (const auto& c : checks) {
    names.push_back(c.name);
    EXPECT_EQ(c.status, Status::Ok) << format(c);
    EXPECT_EQ(c.fix, "") << format(c);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"tun", "userns", "subuid", "subgid", "uidmap", "io_uring", "ping", "ports",
                                             "nftables", "helpers", "podman"}));
  EXPECT_EQ(find(checks, "subuid").message, "alice has 65536 subordinate user ids from 100000 (/etc/subuid)");
  EXPECT_EQ(find(checks, "podman").message,
            "podman 4.3.1 spawns slirp4netns for rootless containers: /usr/libexec/netd/slirp4netns is netd");
}

TEST(Doctor, FormatIsOneAlignedLine) {
  EXPECT_EQ(format(Check{Status::Ok, "tun", "fine", ""}), "OK    tun       fine");
  EXPECT_EQ(format(Check{Status::Warn, "ping", "no", "do this"}), "WARN  ping      no — fix: do this");
  EXPECT_EQ(format(Check{Status::Fail, "a-very-long-name", "m", ""}), "FAIL  a-very-long-name m");
}

TEST(DoctorTun, MissingDeviceOrPermission) {
  auto f = healthy_user();
  f.tun = Attempt{ENOENT, "/dev/net/tun: No such file or directory"};
  auto c = run(f, "tun");
  EXPECT_EQ(c.status, Status::Fail);
  EXPECT_NE(c.fix.find("modprobe tun"), std::string::npos) << c.fix;
  f.tun = Attempt{EACCES, "/dev/net/tun: Permission denied"};
  c = run(f, "tun");
  EXPECT_EQ(c.status, Status::Fail);
  EXPECT_NE(c.fix.find("chmod 0666 /dev/net/tun"), std::string::npos) << c.fix;
  EXPECT_NE(c.message.find("alice"), std::string::npos) << c.message;
}

TEST(DoctorUserns, NamesTheSysctlThatForbidsIt) {
  auto f = healthy_user();
  f.userns = Attempt{EPERM, "unshare(CLONE_NEWUSER|CLONE_NEWNET): Operation not permitted"};
  f.nftables.reset();
  f.unprivileged_userns_clone = "0";
  auto c = run(f, "userns");
  EXPECT_EQ(c.status, Status::Fail);
  EXPECT_NE(c.fix.find("kernel.unprivileged_userns_clone=1"), std::string::npos) << c.fix;

  f.unprivileged_userns_clone = "1";
  f.max_user_namespaces = "0";
  c = run(f, "userns");
  EXPECT_NE(c.fix.find("user.max_user_namespaces="), std::string::npos) << c.fix;

  f.max_user_namespaces = "100";
  f.apparmor_restrict_unprivileged_userns = "1";
  f.userns = Attempt{EPERM, "bringing lo up inside (CAP_NET_ADMIN in the namespace): Operation not permitted"};
  c = run(f, "userns");
  EXPECT_NE(c.fix.find("kernel.apparmor_restrict_unprivileged_userns=0"), std::string::npos) << c.fix;
  EXPECT_NE(c.message.find("bringing lo up"), std::string::npos) << c.message;

  f.apparmor_restrict_unprivileged_userns = "0";
  c = run(f, "userns");
  EXPECT_EQ(c.status, Status::Fail);
  EXPECT_NE(c.message.find("seccomp"), std::string::npos) << c.message;
  // Without a namespace the nftables check could not run.
  EXPECT_EQ(run(f, "nftables").status, Status::Warn);
  EXPECT_NE(run(f, "nftables").message.find("not checked"), std::string::npos);
}

TEST(DoctorUserns, RootIsNotBlamedOnUnprivilegedSysctls) {
  auto f = healthy_user();
  f.uid = 0;
  f.user = "root";
  f.userns = Attempt{EPERM, "unshare: Operation not permitted"};
  f.unprivileged_userns_clone = "0";
  f.apparmor_restrict_unprivileged_userns = "1";
  auto c = run(f, "userns");
  EXPECT_EQ(c.status, Status::Fail);
  EXPECT_EQ(c.fix.find("unprivileged_userns_clone"), std::string::npos) << c.fix;
  EXPECT_EQ(c.fix.find("apparmor"), std::string::npos) << c.fix;
}

TEST(DoctorSubids, MissingRangeSuggestsAFreeOne) {
  auto f = healthy_user();
  f.subuid = "# comment\nbob:100000:65536\ncarol:165536:65536\nbroken line\nx:y:z\n";
  auto c = run(f, "subuid");
  EXPECT_EQ(c.status, Status::Warn);
  EXPECT_EQ(c.fix, "sudo usermod --add-subuids 231072-296607 alice");
  f.subgid.reset();  // no /etc/subgid at all
  c = run(f, "subgid");
  EXPECT_EQ(c.status, Status::Warn);
  EXPECT_EQ(c.fix, "sudo usermod --add-subgids 100000-165535 alice");
  EXPECT_NE(c.message.find("no subordinate group ids for alice in /etc/subgid"), std::string::npos) << c.message;
}

TEST(DoctorSubids, SmallRangesAddUpAndUidNumbersCount) {
  auto f = healthy_user();
  f.subuid = "1000:200000:1000\n";
  auto c = run(f, "subuid");
  EXPECT_EQ(c.status, Status::Warn);
  EXPECT_NE(c.message.find("only 1000 subordinate user ids"), std::string::npos) << c.message;
  f.subuid = "1000:200000:32768\nalice:300000:32768\n";
  EXPECT_EQ(run(f, "subuid").status, Status::Ok);
}

TEST(DoctorSubids, SummaryIgnoresJunk) {
  auto s = summarize_subids("alice:1:2:3\n:5:5\nalice:-1:5\nalice:10:99999999999\nalice:7:3", "alice", 5);
  EXPECT_EQ(s.count, 3u);
  EXPECT_EQ(s.first, 7u);
  EXPECT_EQ(s.free_from, 10u);
  EXPECT_EQ(summarize_subids("", "alice", 5).count, 0u);
}

TEST(DoctorSubids, RootNeedsNone) {
  auto f = healthy_user();
  f.uid = 0;
  f.subuid.reset();
  f.newuidmap = {};
  EXPECT_EQ(run(f, "subuid").status, Status::Ok);
  EXPECT_EQ(run(f, "uidmap").status, Status::Ok);
}

TEST(DoctorUidmap, MissingOrUnprivilegedTools) {
  auto f = healthy_user();
  f.newgidmap = {};
  auto c = run(f, "uidmap");
  EXPECT_EQ(c.status, Status::Warn);
  EXPECT_EQ(c.fix, "sudo apt install uidmap");
  f.newgidmap = {true, false};
  EXPECT_EQ(run(f, "uidmap").status, Status::Warn);
}

TEST(DoctorIoUring, DisabledBySysctl) {
  auto f = healthy_user();
  f.io_uring = Attempt{EPERM, "io_uring_setup: Operation not permitted"};
  f.io_uring_disabled = "2";
  auto c = run(f, "io_uring");
  EXPECT_EQ(c.status, Status::Fail);
  EXPECT_NE(c.message.find("kernel.io_uring_disabled=2"), std::string::npos) << c.message;
  EXPECT_NE(c.message.find("no other event loop"), std::string::npos) << c.message;
  EXPECT_NE(c.fix.find("kernel.io_uring_disabled=0"), std::string::npos) << c.fix;

  f.io_uring_disabled = "1";
  c = run(f, "io_uring");
  EXPECT_NE(c.message.find("kernel.io_uring_group"), std::string::npos) << c.message;
}

TEST(DoctorIoUring, RefusedBySeccompIsAWarningWithTheFallback) {
  auto f = healthy_user();
  f.io_uring = Attempt{EPERM, "io_uring_setup: Operation not permitted"};
  f.fallback_loop = "epoll";
  auto c = run(f, "io_uring");
  EXPECT_EQ(c.status, Status::Warn);
  EXPECT_NE(c.message.find("seccomp"), std::string::npos) << c.message;
  EXPECT_NE(c.message.find("runs its data plane on epoll instead (slower)"), std::string::npos) << c.message;
  EXPECT_NE(c.fix.find("io_uring_setup"), std::string::npos) << c.fix;
  f.fallback_loop = "";
  EXPECT_EQ(run(f, "io_uring").status, Status::Fail);
}

TEST(DoctorPing, AnyOfTheGroupsCounts) {
  auto f = healthy_user();
  f.ping_group_range = "27 27";
  EXPECT_EQ(run(f, "ping").status, Status::Ok);
  f.ping_group_range = "1 0";  // the kernel's default: nobody
  auto c = run(f, "ping");
  EXPECT_EQ(c.status, Status::Warn);
  EXPECT_NE(c.fix.find("net.ipv4.ping_group_range=\"0 2147483647\""), std::string::npos) << c.fix;
  f.ping_group_range = "garbage";
  EXPECT_EQ(run(f, "ping").status, Status::Warn);
  f.ping_group_range.reset();
  EXPECT_EQ(run(f, "ping").status, Status::Warn);
}

TEST(DoctorPing, RangeParser) {
  EXPECT_EQ(parse_range("0 2147483647"), std::make_pair(0ull, 2147483647ull));
  EXPECT_EQ(parse_range("1  0"), std::make_pair(1ull, 0ull));
  EXPECT_FALSE(parse_range("1"));
  EXPECT_FALSE(parse_range("1 "));
  EXPECT_FALSE(parse_range("a b"));
  EXPECT_FALSE(parse_range(""));
}

TEST(DoctorPorts, LowStartIsFineHighStartWarns) {
  auto f = healthy_user();
  auto c = run(f, "ports");
  EXPECT_EQ(c.status, Status::Ok);
  EXPECT_NE(c.message.find("from 1024 up"), std::string::npos) << c.message;
  f.unprivileged_port_start = "0";
  EXPECT_NE(run(f, "ports").message.find("any port"), std::string::npos);
  f.unprivileged_port_start = "2000";
  c = run(f, "ports");
  EXPECT_EQ(c.status, Status::Warn);
  EXPECT_NE(c.fix.find("ip_unprivileged_port_start=80"), std::string::npos) << c.fix;
  f.uid = 0;
  EXPECT_EQ(run(f, "ports").status, Status::Ok);
}

TEST(DoctorNftables, FailureWarnsWithModules) {
  auto f = healthy_user();
  f.nftables = Attempt{EPROTO, "nftables rejected netd's rules: Error: Could not process rule: No such file or directory"};
  auto c = run(f, "nftables");
  EXPECT_EQ(c.status, Status::Warn);
  EXPECT_NE(c.message.find("Could not process rule"), std::string::npos) << c.message;
  EXPECT_NE(c.fix.find("modprobe"), std::string::npos) << c.fix;
}

TEST(DoctorHelpers, MissingLinksWarn) {
  auto f = healthy_user();
  f.helpers_missing = {"pasta", "pesto"};
  auto c = run(f, "helpers");
  EXPECT_EQ(c.status, Status::Warn);
  EXPECT_NE(c.message.find("lacks pasta, pesto"), std::string::npos) << c.message;
}

TEST(DoctorPodman, NotInstalledOrBroken) {
  auto f = healthy_user();
  f.podman_version_output.reset();
  EXPECT_EQ(run(f, "podman").status, Status::Warn);
  EXPECT_NE(run(f, "podman").message.find("podman not found"), std::string::npos);
  f.podman_version_error = "exit status 125: Error: no storage";
  EXPECT_EQ(run(f, "podman").message, "podman --version failed: exit status 125: Error: no storage");
  f.podman_version_output = "something else";
  EXPECT_NE(run(f, "podman").message.find("'something else'"), std::string::npos);
  f.podman_version_output = "podman version 4.3.1\n";
  f.podman_info_json.reset();
  f.podman_info_error = "Error: cannot set up namespace";
  auto c = run(f, "podman");
  EXPECT_EQ(c.status, Status::Warn);
  EXPECT_NE(c.message.find("cannot set up namespace"), std::string::npos) << c.message;
}

TEST(DoctorPodman, NotPointingAtNetdNamesSetup) {
  auto f = healthy_user();
  f.podman_info_json = R"({"host": {"slirp4netns": {"executable": "/usr/bin/slirp4netns"}}})";
  f.slirp4netns_resolved = "/usr/bin/slirp4netns";
  auto c = run(f, "podman");
  EXPECT_EQ(c.status, Status::Warn);
  EXPECT_EQ(c.fix, "netd setup podman --user");
  EXPECT_NE(c.message.find("/usr/bin/slirp4netns, not netd"), std::string::npos) << c.message;
  f.uid = 0;
  EXPECT_EQ(run(f, "podman").fix, "netd setup podman --system");
  // Root's podman (not rootless) is said to give bridge networks.
  f.podman_info_json = R"({"host": {"security": {"rootless": false}, "slirp4netns": {"executable": "/usr/bin/slirp4netns"}}})";
  EXPECT_EQ(run(f, "podman").message,
            "podman 4.3.1 (as root podman gives containers bridge networks; rootless ones get slirp4netns): "
            "/usr/bin/slirp4netns, not netd");
}

TEST(DoctorPodman, Podman5UsesPasta) {
  auto f = healthy_user();
  f.podman_version_output = "podman version 5.4.2\n";
  f.podman_info_json =
      R"({"host": {"rootlessNetworkCmd": "pasta", "pasta": {"executable": "/usr/libexec/netd/pasta"},
          "security": {"rootless": true},
          "slirp4netns": {"executable": ""}}})";
  f.slirp4netns_resolved = "";
  f.pasta_resolved = kNetd;
  auto c = run(f, "podman");
  EXPECT_EQ(c.status, Status::Ok) << format(c);
  EXPECT_EQ(c.message, "podman 5.4.2 spawns pasta for rootless containers: /usr/libexec/netd/pasta is netd");
  f.pasta_resolved = "/usr/bin/pasta";
  EXPECT_EQ(run(f, "podman").status, Status::Warn);
  // No executable named at all (pasta not installed, netd not set up).
  f.podman_info_json = R"({"host": {"rootlessNetworkCmd": "pasta"}})";
  f.pasta_resolved = "";
  c = run(f, "podman");
  EXPECT_EQ(c.status, Status::Warn);
  EXPECT_NE(c.message.find("finds no pasta to run"), std::string::npos) << c.message;
}

}  // namespace
}  // namespace netd::doctor
