// The configuration socket server (netd/pesto_server.h) with a recording
// apply callback, driven by the real `netd pesto` binary (also through a
// symlink named pesto) and by raw clients that stall, trickle, or send
// garbage.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "netd/pesto_server.h"
#include "portfwd/fwd_spec.h"
#include "portfwd/pesto_wire.h"

namespace netd {
namespace {

namespace pesto = portfwd::pesto;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

struct Outcome {
  int status = -1;  // exit status, or -1 if it did not exit normally
  std::string out, err;
};

// Runs `argv0 args...` (argv0 is the path executed) with a 20 s limit.
Outcome run(const std::string& exe, const std::vector<std::string>& args) {
  std::vector<std::string> all{exe};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  int out[2], err[2];
  EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
  EXPECT_EQ(::pipe2(err, O_CLOEXEC), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  Outcome r;
  pollfd p[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  int open_fds = 2;
  while (open_fds > 0 && Clock::now() < deadline) {
    if (::poll(p, 2, 200) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (p[i].fd < 0 || !p[i].revents) continue;
      char buf[4096];
      ssize_t n = ::read(p[i].fd, buf, sizeof buf);
      if (n <= 0) {
        ::close(p[i].fd);
        p[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  if (open_fds > 0) ::kill(pid, SIGKILL);
  for (auto& f : p)
    if (f.fd >= 0) ::close(f.fd);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

Outcome netd_pesto(const std::vector<std::string>& args) {
  std::vector<std::string> all{"pesto"};
  all.insert(all.end(), args.begin(), args.end());
  return run(NETD_BINARY, all);
}

std::vector<std::string> lines(const portfwd::FwdTable& t) {
  std::vector<std::string> out;
  for (const auto& r : t.rules) out.push_back(r.to_string());
  return out;
}

// Records every call of the apply callback; can be told to refuse.
struct Recorder {
  std::mutex mu;
  std::vector<portfwd::FwdTables> calls;
  bool refuse = false;
  PestoApply callback() {
    return [this](const portfwd::FwdTables& t) -> Expected<void, std::string> {
      std::lock_guard lock(mu);
      calls.push_back(t);
      if (refuse) return unexpected(std::string("listen failed for TCP port 80: Permission denied"));
      return {};
    };
  }
  size_t count() {
    std::lock_guard lock(mu);
    return calls.size();
  }
  portfwd::FwdTables last() {
    std::lock_guard lock(mu);
    return calls.back();
  }
};

int connect_to(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0) << std::strerror(errno);
  return fd;
}

// Reads the server's hello and tables (2 s limit).
std::vector<pesto::PifTable> read_greeting(int fd) {
  std::vector<std::byte> buf(pesto::kMaxServerMessage);
  size_t have = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  while (Clock::now() < deadline) {
    auto d = pesto::decode_server_message(std::span(buf.data(), have));
    if (d.status == pesto::DecodeStatus::Complete) return d.value;
    EXPECT_NE(d.status, pesto::DecodeStatus::Malformed) << d.error;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    ssize_t n = ::recv(fd, buf.data() + have, buf.size() - have, 0);
    if (n <= 0) break;
    have += static_cast<size_t>(n);
  }
  ADD_FAILURE() << "no complete greeting";
  return {};
}

void send_bytes(int fd, const std::vector<std::byte>& b) {
  ASSERT_EQ(::send(fd, b.data(), b.size(), MSG_NOSIGNAL), static_cast<ssize_t>(b.size()));
}

// Waits (bounded) until `pred` holds.
template <class Pred>
bool eventually(Pred pred, milliseconds limit = milliseconds(3000)) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return pred();
}

class PestoServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pesto-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/pasta.sock";
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Starts a server whose tables come from pasta-style options.
  void start(const std::vector<std::pair<char, std::string>>& options, milliseconds timeout = milliseconds(5000)) {
    auto tables = portfwd::build_pasta_tables(options, portfwd::FwdCap::kAll, portfwd::kRfc6335Ephemeral);
    ASSERT_TRUE(tables) << tables.error();
    PestoServerOptions o;
    o.path = path_;
    o.tables = *tables;
    o.apply = recorder_.callback();
    o.client_timeout = timeout;
    auto s = PestoServer::start(std::move(o));
    ASSERT_TRUE(s) << s.error();
    server_ = std::move(*s);
  }

  std::string dir_, path_;
  Recorder recorder_;
  std::unique_ptr<PestoServer> server_;
};

const std::vector<std::pair<char, std::string>> kPodmanStart{
    {'t', "none"}, {'u', "none"}, {'T', "none"}, {'U', "none"}};

TEST_F(PestoServerTest, ShowPrintsTheTablesAndChangesNothing) {
  start({{'t', "127.0.0.1/8080:80"}, {'u', "none"}, {'T', "none"}, {'U', "none"}});
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto r = netd_pesto({path_});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "passt/pasta configuration (" + path_ + ")\n  HOST\n    TCP [127.0.0.1]:8080  =>  80 \n  SPLICE\n");
  r = netd_pesto({"-s", path_});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out.rfind("passt/pasta configuration", 0), 0u);
  EXPECT_TRUE(eventually([&] { return server_->updates_applied() + server_->updates_rejected() == 0; }));
  EXPECT_EQ(recorder_.count(), 0u);
}

TEST_F(PestoServerTest, AddDeleteClearAndReplaceAsPodmanDoes) {
  start(kPodmanStart);
  // podman: pesto --add -t 0.0.0.0/8080 -t [::]/8080 SOCKET
  auto r = netd_pesto({"--add", "-t", "0.0.0.0/8080", "-t", "[::]/8080", "-u", "127.0.0.1/5353", path_});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_TRUE(eventually([&] { return recorder_.count() == 1; }));
  EXPECT_EQ(lines(recorder_.last().inbound),
            (std::vector<std::string>{"TCP [0.0.0.0]:8080  =>  8080 ", "TCP [::]:8080  =>  8080 ",
                                      "UDP [127.0.0.1]:5353  =>  5353 "}));
  EXPECT_TRUE(recorder_.last().outbound.rules.empty());
  EXPECT_EQ(recorder_.last().inbound.caps, portfwd::FwdCap::kAll);
  EXPECT_EQ(lines(server_->tables().inbound), lines(recorder_.last().inbound));

  // The target address form (Podman 6.1).
  r = netd_pesto({"-A", "-t", "0.0.0.0/9090:10.88.0.5/80", path_});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_TRUE(eventually([&] { return recorder_.count() == 2; }));
  EXPECT_EQ(lines(recorder_.last().inbound).back(), "TCP [0.0.0.0]:9090  =>  10.88.0.5:80 ");

  r = netd_pesto({"--delete", "-t", "0.0.0.0/8080", "-t", "[::]/8080", "-s", path_});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_TRUE(eventually([&] { return recorder_.count() == 3; }));
  EXPECT_EQ(lines(recorder_.last().inbound),
            (std::vector<std::string>{"UDP [127.0.0.1]:5353  =>  5353 ", "TCP [0.0.0.0]:9090  =>  10.88.0.5:80 "}));
  EXPECT_NE(r.out.find("Previous configuration (" + path_ + ")\n  HOST\n    TCP [0.0.0.0]:8080"), std::string::npos);
  EXPECT_NE(r.out.find("Updated configuration (" + path_ + ")\n  HOST\n    UDP [127.0.0.1]:5353"), std::string::npos);

  // Outbound, then clear inbound by name.
  r = netd_pesto({"-A", "-T", "3000", "-C", "HOST", path_});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_TRUE(eventually([&] { return recorder_.count() == 4; }));
  EXPECT_TRUE(recorder_.last().inbound.rules.empty());
  EXPECT_EQ(lines(recorder_.last().outbound), std::vector<std::string>{"TCP [*]%lo:3000  =>  3000 "});

  // Without -A/-D a spec replaces its table; the other table stays.
  r = netd_pesto({"-t", "22", path_});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_TRUE(eventually([&] { return recorder_.count() == 5; }));
  EXPECT_EQ(lines(recorder_.last().inbound), std::vector<std::string>{"TCP [*]:22  =>  22 "});
  EXPECT_EQ(lines(recorder_.last().outbound), std::vector<std::string>{"TCP [*]%lo:3000  =>  3000 "});

  // Delete, then add again in one run.
  r = netd_pesto({"-D", "-t", "22", "-A", "-t", "22", path_});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_TRUE(eventually([&] { return recorder_.count() == 6; }));
  EXPECT_EQ(lines(recorder_.last().inbound), std::vector<std::string>{"TCP [*]:22  =>  22 "});
  EXPECT_EQ(server_->updates_applied(), 6u);
  EXPECT_EQ(server_->updates_rejected(), 0u);
}

TEST_F(PestoServerTest, ClientSideErrorsSendNothing) {
  start({{'t', "8080"}, {'u', "none"}, {'T', "none"}, {'U', "none"}});
  struct Case {
    std::vector<std::string> args;
    const char* message;
  } cases[] = {
      {{"-A", "-t", "8080"}, "cannot add rule TCP [*]:8080  =>  8080: it conflicts with rule TCP [*]:8080  =>  8080"},
      {{"-D", "-t", "8081"}, "cannot delete rule TCP [*]:8081  =>  8081: no such rule"},
      {{"-t", "80x"}, "invalid port specifier '80x'"},
      {{"-C", "TAP"}, "unknown table 'TAP'"},
      {{"-T", "1.2.3.4/80"}, "a listening address is not allowed for -T 1.2.3.4/80"},
  };
  for (auto& c : cases) {
    auto args = c.args;
    args.push_back(path_);
    auto r = netd_pesto(args);
    EXPECT_EQ(r.status, 1) << c.args[1];
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
  // Usage errors.
  for (std::vector<std::string> args : {std::vector<std::string>{}, {"--frob", path_}, {path_, path_}}) {
    auto r = netd_pesto(args);
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("Usage: "), std::string::npos) << r.err;
  }
  auto help = netd_pesto({"-h"});
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("--tcp-ns"), std::string::npos);
  auto nowhere = netd_pesto({dir_ + "/none.sock"});
  EXPECT_EQ(nowhere.status, 1);
  EXPECT_NE(nowhere.err.find("cannot connect to " + dir_ + "/none.sock"), std::string::npos);
  EXPECT_EQ(recorder_.count(), 0u);
  EXPECT_EQ(lines(server_->tables().inbound), std::vector<std::string>{"TCP [*]:8080  =>  8080 "});
}

TEST_F(PestoServerTest, RefusedApplyKeepsTheOldTables) {
  start(kPodmanStart);
  recorder_.refuse = true;
  auto r = netd_pesto({"-A", "-t", "80", path_});
  EXPECT_EQ(r.status, 0);  // the server answers nothing, as pasta
  ASSERT_TRUE(eventually([&] { return server_->updates_rejected() == 1; }));
  EXPECT_EQ(recorder_.count(), 1u);
  EXPECT_TRUE(server_->tables().inbound.rules.empty());
  // The next client sees the old tables.
  recorder_.refuse = false;
  r = netd_pesto({path_});
  EXPECT_EQ(r.out.find("TCP"), std::string::npos) << r.out;
}

TEST_F(PestoServerTest, StalledClientTimesOutAndTheNextOneIsServed) {
  start(kPodmanStart, milliseconds(400));
  int stalled = connect_to(path_);  // connects, never reads, never writes
  auto started = Clock::now();
  auto next = std::async(std::launch::async, [&] { return netd_pesto({"-A", "-t", "7000", path_}); });
  Outcome r = next.get();
  auto took = Clock::now() - started;
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_GE(took, milliseconds(350));  // it waited for the stalled client's deadline
  EXPECT_LT(took, milliseconds(5000));
  ASSERT_TRUE(eventually([&] { return recorder_.count() == 1; }));
  EXPECT_EQ(server_->updates_rejected(), 1u);
  // The stalled client was disconnected: its socket reads the greeting, then EOF.
  read_greeting(stalled);
  char c;
  pollfd p{stalled, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 2000), 1);
  EXPECT_EQ(::recv(stalled, &c, 1, 0), 0);
  ::close(stalled);

  // A client that sends half an update and stalls.
  int half = connect_to(path_);
  read_greeting(half);
  send_bytes(half, std::vector<std::byte>{std::byte{1}, std::byte{0}});
  ASSERT_TRUE(eventually([&] { return server_->updates_rejected() == 2; }));
  ::close(half);
  EXPECT_EQ(recorder_.count(), 1u);
}

TEST_F(PestoServerTest, GarbageAndBadUpdatesAreRejected) {
  start(kPodmanStart, milliseconds(2000));
  auto reject = [&](std::vector<std::byte> bytes, uint64_t expect_rejected) {
    int fd = connect_to(path_);
    read_greeting(fd);
    send_bytes(fd, bytes);
    auto t0 = Clock::now();
    EXPECT_TRUE(eventually([&] { return server_->updates_rejected() == expect_rejected; }));
    EXPECT_LT(Clock::now() - t0, milliseconds(1000)) << "rejected only at the deadline";
    ::close(fd);
  };
  std::vector<std::byte> garbage;
  for (char c : std::string("\x07GET / HTTP/1.1\r\n\r\n")) garbage.push_back(static_cast<std::byte>(c));
  reject(garbage, 1);
  reject({std::byte{1}, std::byte{0xff}, std::byte{0xff}, std::byte{0xff}, std::byte{0xff}}, 2);  // 2^32-1 rules
  // A rule for the TAP pif, which has no table.
  reject({std::byte{2}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}}, 3);
  // Two conflicting rules in one table.
  auto tables = pesto::announce(server_->tables());
  portfwd::FwdRule r;
  r.any_address = true;
  r.first = r.last = r.to = 80;
  tables[0].table.rules = {r, r};
  reject(pesto::encode_client_message(tables), 4);
  // An unknown protocol in a rule.
  auto bad = pesto::encode_client_message(tables);
  bad[5 + 54] = std::byte{1};
  reject(bad, 5);
  EXPECT_EQ(recorder_.count(), 0u);

  // A valid update trickled byte by byte is still accepted.
  tables[0].table.rules = {r};
  auto ok = pesto::encode_client_message(tables);
  int fd = connect_to(path_);
  read_greeting(fd);
  for (auto b : ok) {
    send_bytes(fd, {b});
    std::this_thread::sleep_for(milliseconds(2));
  }
  ASSERT_TRUE(eventually([&] { return recorder_.count() == 1; }));
  ::close(fd);
  EXPECT_EQ(lines(server_->tables().inbound), std::vector<std::string>{"TCP [*]:80  =>  80 "});
}

TEST_F(PestoServerTest, StopIsQuickWithAClientStalledAndRemovesTheSocket) {
  start(kPodmanStart, milliseconds(60000));
  int stalled = connect_to(path_);
  read_greeting(stalled);
  auto t0 = Clock::now();
  server_->stop();
  EXPECT_LT(Clock::now() - t0, milliseconds(1500));
  EXPECT_FALSE(std::filesystem::exists(path_));
  server_->stop();  // idempotent
  ::close(stalled);
}

TEST_F(PestoServerTest, SocketPathChecks) {
  // A live server's socket is not taken over.
  start(kPodmanStart);
  auto live = PestoServer::bind(path_);
  ASSERT_FALSE(live);
  EXPECT_EQ(live.error(), "cannot use configuration socket " + path_ + ": it is in use by a running server");
  // A stale socket (its server gone, the file left) is replaced.
  server_.reset();
  {
    auto fd = PestoServer::bind(path_);
    ASSERT_TRUE(fd) << fd.error();
  }  // closed, file left behind
  ASSERT_TRUE(std::filesystem::exists(path_));
  auto again = PestoServer::bind(path_);
  EXPECT_TRUE(again) << (again ? "" : again.error());
  // Not a socket.
  std::string file = dir_ + "/file";
  ::close(::open(file.c_str(), O_CREAT | O_WRONLY, 0600));
  auto notsock = PestoServer::bind(file);
  ASSERT_FALSE(notsock);
  EXPECT_EQ(notsock.error(), "cannot use configuration socket " + file + ": it exists and is not a socket");
  auto missing_dir = PestoServer::bind(dir_ + "/no/such/dir.sock");
  ASSERT_FALSE(missing_dir);
  EXPECT_NE(missing_dir.error().find("No such file or directory"), std::string::npos);
  auto toolong = PestoServer::bind("/tmp/" + std::string(200, 'x'));
  ASSERT_FALSE(toolong);
  EXPECT_NE(toolong.error().find("path too long"), std::string::npos);
  PestoServerOptions no_apply;
  no_apply.path = dir_ + "/x.sock";
  EXPECT_FALSE(PestoServer::start(std::move(no_apply)));
}

TEST_F(PestoServerTest, DropInNamePesto) {
  start({{'t', "2222:22"}, {'u', "none"}, {'T', "none"}, {'U', "none"}});
  std::string link = dir_ + "/pesto";
  ASSERT_EQ(::symlink(NETD_BINARY, link.c_str()), 0);
  auto r = run(link, {"--version"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out.rfind("pesto ", 0), 0u) << r.out;
  r = run(link, {"-A", "-u", "5353", path_});
  EXPECT_EQ(r.status, 0) << r.err;
  ASSERT_TRUE(eventually([&] { return recorder_.count() == 1; }));
  EXPECT_EQ(lines(recorder_.last().inbound),
            (std::vector<std::string>{"TCP [*]:2222  =>  22 ", "UDP [*]:5353  =>  5353 "}));
  r = run(link, {"-h"});
  EXPECT_NE(r.out.find("Usage: " + link + " [OPTION]... PATH"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace netd
