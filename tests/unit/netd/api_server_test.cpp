// The API server over a real unix socket, with a fake backend whose thread
// drains the ControlQueue the way a data plane would (poll the eventfd).
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <nlohmann/json.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "netd/api_server.h"
#include "portfwd/host_socket.h"

namespace netd {
namespace {

struct FakeBackend : portfwd::ForwardBackend {
  portfwd::ControlQueue q;
  std::atomic<bool> stop{false};
  std::thread::id loop_thread;
  bool ran_on_loop = true;
  std::thread t{[this] {
    loop_thread = std::this_thread::get_id();
    while (!stop) {
      pollfd p{q.eventfd(), POLLIN, 0};
      if (::poll(&p, 1, 20) > 0) q.drain();
    }
  }};
  ~FakeBackend() override {
    stop = true;
    t.join();
  }
  // Host ports on 127.0.0.1 are really bound (the handover tests); others
  // get an unbound socket, and port 1 a refusal.
  Expected<UniqueFd, std::string> open(const portfwd::Forward& f) override {
    opened_off_loop &= std::this_thread::get_id() != loop_thread;
    if (f.host_addr == net::IpAddr(net::Ipv4Addr::from_octets(127, 0, 0, 1)))
      return portfwd::open_host_socket(f.host_addr, f.host_port, f.proto, false);
    if (f.host_port == 1) return unexpected(std::string("cannot bind 0.0.0.0:1/tcp: Permission denied"));
    return UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  }
  Expected<void, std::string> add(const portfwd::Forward&, UniqueFd socket) override {
    ran_on_loop &= std::this_thread::get_id() == loop_thread;
    if (!socket) return unexpected(std::string("no socket"));
    added.push_back(std::move(socket));
    return {};
  }
  bool opened_off_loop = true;
  std::vector<UniqueFd> added;  // (loop thread)
  Expected<void, std::string> remove(uint64_t) override { return {}; }
  std::string counters_json() override { return "{\"x\":1,\"a\":2}"; }  // order kept in the reply
  portfwd::ControlQueue& queue() override { return q; }
};

std::string call(const std::string& path, const std::string& req, bool shut_wr = true) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strcpy(sa.sun_path, path.c_str());
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  size_t off = 0;
  while (off < req.size()) {
    ssize_t n = ::send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  if (shut_wr) ::shutdown(fd, SHUT_WR);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

TEST(ApiServer, Slirp4netnsConversation) {
  std::string path = "/tmp/netd-api-test-" + std::to_string(::getpid()) + ".sock";
  FakeBackend backend;
  {
    ApiServerOptions o;
    o.path = path;
    o.backend = &backend;
    auto srv = ApiServer::start(o);
    ASSERT_TRUE(srv) << srv.error();
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    auto r1 = nlohmann::json::parse(call(path, R"({"execute":"add_hostfwd","arguments":{"proto":"tcp","host_port":8080,"guest_port":80}})"));
    EXPECT_EQ(r1["return"]["id"], 1);
    // Without shutting down the write side: the server answers a complete request.
    auto r2 = nlohmann::json::parse(call(path, "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"udp\",\"host_port\":8080,\"guest_port\":80}}\n", false));
    EXPECT_EQ(r2["return"]["id"], 2);
    auto dup = nlohmann::json::parse(call(path, R"({"execute":"add_hostfwd","arguments":{"proto":"tcp","host_port":8080,"guest_port":81}})"));
    EXPECT_NE(dup["error"]["desc"].get<std::string>().find("already forwarded"), std::string::npos);
    auto denied = nlohmann::json::parse(call(path, R"({"execute":"add_hostfwd","arguments":{"proto":"tcp","host_port":1,"guest_port":81}})"));
    EXPECT_NE(denied["error"]["desc"].get<std::string>().find("Permission denied"), std::string::npos);
    auto list = nlohmann::json::parse(call(path, R"({"execute":"list_hostfwd"})"));
    EXPECT_EQ(list["return"]["entries"].size(), 2u);
    EXPECT_EQ(call(path, R"({"execute":"remove_hostfwd","arguments":{"id":1}})"), "{\"return\":{}}");
    auto gone = nlohmann::json::parse(call(path, R"({"execute":"remove_hostfwd","arguments":{"id":1}})"));
    EXPECT_EQ(gone["error"]["desc"].get<std::string>().rfind("bad request: ", 0), 0u);
    auto ids = nlohmann::json::parse(call(path, R"({"execute":"add_hostfwd","arguments":{"proto":"tcp","host_port":8080,"guest_port":80}})"));
    EXPECT_EQ(ids["return"]["id"], 4);  // 3 was spent by the failed add; ids are never reused
    EXPECT_EQ(call(path, R"({"execute":"get_counters"})"), "{\"return\":{\"counters\":{\"x\":1,\"a\":2}}}");
    auto bad = nlohmann::json::parse(call(path, "{nope"));
    EXPECT_EQ(bad["error"]["desc"], "bad request: invalid JSON");
    auto huge = nlohmann::json::parse(call(path, std::string(100000, ' ')));
    EXPECT_NE(huge["error"]["desc"].get<std::string>().find("larger than"), std::string::npos);
    EXPECT_TRUE(backend.ran_on_loop);
    EXPECT_TRUE(backend.opened_off_loop);
  }
  struct stat st {};
  EXPECT_NE(::stat(path.c_str(), &st), 0) << "socket not removed";
}

uint16_t bound_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

std::string add_request(uint16_t port) {
  return R"({"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":)" +
         std::to_string(port) + R"(,"guest_port":80}})";
}

// An API server with `handover_wait`, and a port on 127.0.0.1 held by a
// socket of this process.
struct HeldPortServer {
  std::string path;
  FakeBackend backend;
  UniqueFd held;
  uint16_t port = 0;
  std::unique_ptr<ApiServer> server;
  HeldPortServer(const std::string& name, std::chrono::milliseconds handover_wait)
      : path("/tmp/netd-api-" + name + "-" + std::to_string(::getpid()) + ".sock") {
    auto s = portfwd::open_host_socket(net::Ipv4Addr::from_octets(127, 0, 0, 1), 0, portfwd::Proto::Tcp, false);
    if (!s) return;
    held = std::move(*s);
    port = bound_port(held.get());
    ApiServerOptions o;
    o.path = path;
    o.backend = &backend;
    o.handover_wait = handover_wait;
    if (auto srv = ApiServer::start(o)) server = std::move(*srv);
  }
  bool ok() const { return held && server; }
};

// A port another socket holds: the add waits (on the server's timers: other
// requests are answered meanwhile), takes the port once it is free, and
// answers with the id; a second add of the same port meanwhile is refused
// as a duplicate.
TEST(ApiServer, AddWaitsForAPortInUseWithoutBlocking) {
  HeldPortServer h("wait", std::chrono::seconds(4));
  ASSERT_TRUE(h.ok());
  const std::string& path = h.path;
  const uint16_t port = h.port;
  FakeBackend& backend = h.backend;
  std::string reply;
  auto t0 = std::chrono::steady_clock::now();
  std::thread adder([&] { reply = call(path, add_request(port)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto t1 = std::chrono::steady_clock::now();
  EXPECT_EQ(call(path, R"({"execute":"get_counters"})"), "{\"return\":{\"counters\":{\"x\":1,\"a\":2}}}");
  EXPECT_LT(std::chrono::steady_clock::now() - t1, std::chrono::milliseconds(150)) << "the control thread waited";
  auto dup = nlohmann::json::parse(call(path, add_request(port)));
  EXPECT_NE(dup["error"]["desc"].get<std::string>().find("is being added"), std::string::npos) << dup.dump();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  h.held.reset();
  adder.join();
  auto took = std::chrono::steady_clock::now() - t0;
  auto r = nlohmann::json::parse(reply);
  EXPECT_EQ(r["return"]["id"], 1) << reply;
  EXPECT_GE(took, std::chrono::milliseconds(500));
  EXPECT_LT(took, std::chrono::seconds(3));
  EXPECT_TRUE(backend.opened_off_loop);
}

// The port stays in use: the add fails after the wait, naming the port,
// the wait and the holder; the same port can be asked for again.
TEST(ApiServer, AddGivesUpAfterTheWaitNamingTheHolder) {
  HeldPortServer h("giveup", std::chrono::milliseconds(300));
  ASSERT_TRUE(h.ok());
  const std::string& path = h.path;
  const uint16_t port = h.port;
  auto t0 = std::chrono::steady_clock::now();
  auto r = nlohmann::json::parse(call(path, add_request(port)));
  auto took = std::chrono::steady_clock::now() - t0;
  const std::string desc = r["error"]["desc"].get<std::string>();
  EXPECT_NE(desc.find("add_hostfwd: cannot bind 127.0.0.1:" + std::to_string(port) + "/tcp: Address already in use"),
            std::string::npos) << desc;
  EXPECT_NE(desc.find("; held by "), std::string::npos) << desc;  // (this process: "a socket of uid ...")
  EXPECT_NE(desc.find("(waited 300 ms)"), std::string::npos) << desc;
  EXPECT_GE(took, std::chrono::milliseconds(300));
  EXPECT_LT(took, std::chrono::seconds(2));
  h.held.reset();
  auto again = nlohmann::json::parse(call(path, add_request(port)));
  EXPECT_EQ(again["return"]["id"], 2) << again.dump();
}

TEST(ApiServer, RefusesNonSocketPath) {
  std::string path = "/tmp/netd-api-test-file-" + std::to_string(::getpid());
  FILE* f = std::fopen(path.c_str(), "w");
  std::fclose(f);
  ApiServerOptions o;
  o.path = path;
  auto srv = ApiServer::start(o);
  ASSERT_FALSE(srv);
  EXPECT_NE(srv.error().find("not a socket"), std::string::npos);
  ::unlink(path.c_str());
}

}  // namespace
}  // namespace netd
