// parse_proc_net on fixed /proc/net/{tcp,tcp6,udp} text, holders_of's
// matching, and the handover wait against a real held port.
#include "portfwd/port_holder.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>
#include <vector>

#include "portfwd/host_socket.h"

namespace netd::portfwd {
namespace {

net::IpAddr ip(const char* s) { return *net::IpAddr::parse(s); }

constexpr std::string_view kTcp =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1669 1 "
    "00000000d1fd997f 100 0 0 10 0\n"
    "   1: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 "
    "0000000000000000 100 0 0 10 0\n"
    "   2: 0100007F:ED6D 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 4343 3 "
    "0000000000000000\n"
    "   3: garbage line\n"
    "   4: 0100007F:1F9 00000000:0000 0A\n";

TEST(ParseProcNet, Ipv4Lines) {
  auto v = parse_proc_net(kTcp, AF_INET);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].local, ip("0.0.0.0"));
  EXPECT_EQ(v[0].port, 2024);
  EXPECT_EQ(v[0].state, 10);
  EXPECT_EQ(v[0].inode, 1669u);
  EXPECT_EQ(v[1].local, ip("127.0.0.1"));
  EXPECT_EQ(v[1].port, 8080);
  EXPECT_EQ(v[1].uid, 1000u);
  EXPECT_EQ(v[1].inode, 4242u);
  EXPECT_EQ(v[2].state, 1);  // established
}

TEST(ParseProcNet, Ipv6Line) {
  // ::1 port 8080, as the kernel prints it on a little-endian host.
  constexpr std::string_view kTcp6 =
      "  sl  local_address                         remote_address                        st tx_queue rx_queue tr "
      "tm->when retrnsmt   uid  timeout inode\n"
      "   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 "
      "00:00000000 00000000  1000        0 777 1 0000000000000000 100 0 0 10 0\n";
  auto v = parse_proc_net(kTcp6, AF_INET6);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].local, ip("::1"));
  EXPECT_EQ(v[0].port, 8080);
  EXPECT_EQ(v[0].inode, 777u);
  EXPECT_TRUE(parse_proc_net(kTcp6, AF_INET).empty());  // the wrong family's layout fits no line
}

TEST(ParseProcNet, TruncatedTextNeverCrashes) {
  for (size_t n = 0; n < kTcp.size(); ++n) (void)parse_proc_net(kTcp.substr(0, n), AF_INET);
  EXPECT_TRUE(parse_proc_net("", AF_INET).empty());
}

TEST(HoldersOf, ListenersOfTheAddressOrTheWildcard) {
  auto v = parse_proc_net(kTcp, AF_INET);
  EXPECT_EQ(holders_of(v, ip("127.0.0.1"), 8080, Proto::Tcp), (std::vector<uint64_t>{4242}));
  EXPECT_EQ(holders_of(v, ip("127.0.0.5"), 2024, Proto::Tcp), (std::vector<uint64_t>{1669}));  // wildcard holder
  EXPECT_EQ(holders_of(v, ip("0.0.0.0"), 8080, Proto::Tcp), (std::vector<uint64_t>{4242}));    // wildcard wanted
  EXPECT_TRUE(holders_of(v, ip("127.0.0.1"), 60781, Proto::Tcp).empty());  // only a connection there
  EXPECT_TRUE(holders_of(v, ip("::1"), 8080, Proto::Tcp).empty());
}

TEST(ParseStatusUid, RealUidOfTheUidLine) {
  EXPECT_EQ(parse_status_uid("Name:\tnetd\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t1000\t1001\t1002\t1003\n"
                             "Gid:\t100\t100\t100\t100\n"),
            std::optional<uid_t>(1000));
  EXPECT_EQ(parse_status_uid("Uid:\t0\t0\t0\t0\n"), std::optional<uid_t>(0));
  EXPECT_EQ(parse_status_uid("Uid:\t7"), std::optional<uid_t>(7));  // cut short
  EXPECT_FALSE(parse_status_uid(""));
  EXPECT_FALSE(parse_status_uid("Name:\tx\nXUid:\t5\n"));  // not at a line's start
  EXPECT_FALSE(parse_status_uid("Uid:\t\n"));
  EXPECT_FALSE(parse_status_uid("Uid:\t-1\t0\n"));
  EXPECT_FALSE(parse_status_uid("Uid:\t99999999999999999999\n"));  // too big
}

uint16_t bound_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

// This process holds the port: the description cannot name it (netd skips
// itself), a child process can.
TEST(PortHandover, HeldPortTimesOutNamingTheSocket) {
  auto held = open_host_socket(ip("127.0.0.1"), 0, Proto::Tcp, false);
  ASSERT_TRUE(held) << held.error();
  uint16_t port = bound_port(held->get());
  auto t0 = std::chrono::steady_clock::now();
  auto r = open_host_socket_waiting(ip("127.0.0.1"), port, Proto::Tcp, std::chrono::milliseconds(300));
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r);
  EXPECT_EQ(errno, EADDRINUSE);
  EXPECT_GE(took, std::chrono::milliseconds(300));
  EXPECT_LT(took, std::chrono::seconds(3));
  EXPECT_NE(r.error().find("Address already in use"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("waited 300 ms"), std::string::npos) << r.error();
}

TEST(PortHandover, PortFreedDuringTheWaitIsTaken) {
  auto held = open_host_socket(ip("127.0.0.1"), 0, Proto::Tcp, false);
  ASSERT_TRUE(held) << held.error();
  uint16_t port = bound_port(held->get());
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    held->reset();
  });
  auto r = open_host_socket_waiting(ip("127.0.0.1"), port, Proto::Tcp, std::chrono::seconds(3));
  release.join();
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(bound_port(r->get()), port);
}

// 25, 50, 100, 200, 200 ... ms, the last one cut at the end; then over.
TEST(PortHandover, BackoffDoublesUpTo500msAndEnds) {
  using namespace std::chrono_literals;
  const auto t0 = HandoverBackoff::Clock::time_point{} + 1h;
  HandoverBackoff b(2000ms, t0);
  EXPECT_EQ(b.max_wait(), 2000ms);
  auto now = t0;
  std::vector<long long> pauses;
  while (auto p = b.next(now)) {
    pauses.push_back(p->count());
    now += *p;
    ASSERT_LT(pauses.size(), 20u);
  }
  EXPECT_EQ(pauses, (std::vector<long long>{25, 50, 100, 200, 200, 200, 200, 200, 200, 200, 200, 200, 25}));
  EXPECT_EQ(b.waited(now), 2000ms);
  EXPECT_FALSE(b.next(now + 1h));
}

TEST(PortHandover, MessagesNameThePortAndTheWait) {
  EXPECT_EQ(port_wait_note(ip("127.0.0.1"), 8080, Proto::Tcp, "pid 12 (netd)", std::chrono::milliseconds(5000)),
            "127.0.0.1:8080/tcp is in use by pid 12 (netd); waiting up to 5000 ms for it");
  EXPECT_EQ(port_wait_note(ip("::1"), 53, Proto::Udp, "", std::chrono::milliseconds(5)),
            "[::1]:53/udp is in use; waiting up to 5 ms for it");
  EXPECT_EQ(port_taken_note(ip("127.0.0.1"), 8080, Proto::Udp, std::chrono::milliseconds(120)),
            "127.0.0.1:8080/udp taken over after 120 ms");
}

TEST(PortHandover, OtherErrorsEndAtOnce) {
  auto t0 = std::chrono::steady_clock::now();
  auto r = open_host_socket_waiting(ip("192.0.2.77"), 1, Proto::Tcp, std::chrono::seconds(3));  // not ours
  ASSERT_FALSE(r);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
}

}  // namespace
}  // namespace netd::portfwd
