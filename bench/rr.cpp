// netd-bench-rr: the request/response and connection-rate probe of bench/.
//
// Theory of operation. One small binary plays both ends so that neither side
// is the bottleneck being measured:
//
//   netd-bench-rr server ADDR PORT [LIFETIME_S]
//       a single-threaded epoll echo server: a TCP listener and a UDP socket
//       on the same ADDR:PORT; every byte read is written back. It exits by
//       itself after LIFETIME_S (default 900) so a crashed run leaves nothing
//       behind for long; bench/ kills it by pid anyway.
//   netd-bench-rr tcp-rr  ADDR PORT N SIZE    one connection, N ping-pongs
//   netd-bench-rr udp-rr  ADDR PORT N SIZE    one connected UDP socket, N ping-pongs
//   netd-bench-rr tcp-crr ADDR PORT N SIZE    N x (connect, one ping-pong, close)
//   netd-bench-rr hold    ADDR PORT N SECONDS TCP connections held open and idle
//
// "hold" opens N connections one after the other, makes one 64-byte round
// trip on each (so both ends have seen data, as a real idle connection
// has), prints {"open":N} and then sleeps SECONDS with every connection
// open: bench/ measures the RSS of the tool in between. It raises its own
// open-file limit to the hard limit first (N may exceed the usual 1024).
//
// The clients time every round trip with CLOCK_MONOTONIC around a blocking
// write + read (TCP_NODELAY on), after a short unmeasured warm-up, and print
// one JSON line: {"n":..,"p50_us":..,"p99_us":..,"p999_us":..,"mean_us":..[,"cps":..]}.
// Blocking system calls keep the client's own cost to two syscalls per round
// trip, so latency reflects the path, not the probe.
//
// Everything is bounded: connects and reads time out (3 s), a UDP datagram
// not answered within 500 ms counts as lost (more than max(N/10, 20) losses
// abort), and each client stops at a wall-clock cap (30 s), reporting what it
// measured. Failures print "error: REASON" on stderr and exit 1, so the
// benchmark can show "n/a (REASON)" and carry on.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

constexpr int kIoTimeoutMs = 3000;
constexpr int kUdpWaitMs = 500;
constexpr double kClientCapS = 30.0;

double now_s() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "error: %s\n", what.c_str());
  std::exit(1);
}

[[noreturn]] void die_errno(const std::string& what) { die(what + ": " + std::strerror(errno)); }

// Parses "A.B.C.D" and a port into a sockaddr_in; dies on a bad address.
sockaddr_in make_addr(const char* ip, const char* port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(std::atoi(port)));
  if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) die(std::string("bad IPv4 address ") + ip);
  return sa;
}

void set_timeouts(int fd) {
  timeval tv{kIoTimeoutMs / 1000, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// Blocking exact-length read/write on a socket with timeouts; false on
// EOF, error or timeout (errno says which; 0 for EOF).
bool read_all(int fd, char* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r == 0) {
      errno = 0;
      return false;
    }
    if (r < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    got += static_cast<size_t>(r);
  }
  return true;
}

bool write_all(int fd, const char* buf, size_t n) {
  size_t put = 0;
  while (put < n) {
    ssize_t r = write(fd, buf + put, n - put);
    if (r < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    put += static_cast<size_t>(r);
  }
  return true;
}

std::string io_reason(const char* what) {
  if (errno == 0) return std::string(what) + ": connection closed by peer";
  if (errno == EAGAIN || errno == EWOULDBLOCK) return std::string(what) + ": timed out";
  return std::string(what) + ": " + std::strerror(errno);
}

// A connected, blocking TCP socket with NODELAY and I/O timeouts. The
// connect itself is bounded by SO_SNDTIMEO. Returns -1 and sets *why on error.
int tcp_connect(const sockaddr_in& sa, std::string* why) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die_errno("socket");
  set_timeouts(fd);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) < 0) {
    *why = (errno == EINPROGRESS || errno == EAGAIN) ? std::string("connect: timed out")
                                                      : std::string("connect: ") + std::strerror(errno);
    close(fd);
    return -1;
  }
  return fd;
}

// Prints the JSON summary of round-trip samples (seconds), plus an optional
// connections-per-second figure.
void report(std::vector<double> s, double cps) {
  if (s.empty()) die("no round trip completed");
  std::sort(s.begin(), s.end());
  auto pct = [&](double p) {
    size_t i = static_cast<size_t>(p * static_cast<double>(s.size() - 1) + 0.5);
    return s[std::min(i, s.size() - 1)] * 1e6;
  };
  double sum = 0;
  for (double v : s) sum += v;
  std::printf("{\"n\":%zu,\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"mean_us\":%.1f", s.size(),
              pct(0.50), pct(0.99), pct(0.999), sum / static_cast<double>(s.size()) * 1e6);
  if (cps > 0) std::printf(",\"cps\":%.1f", cps);
  std::printf("}\n");
}

int tcp_rr(const sockaddr_in& sa, long n, size_t size) {
  std::string why;
  int fd = tcp_connect(sa, &why);
  if (fd < 0) die(why);
  std::vector<char> out(size, 'x'), in(size);
  std::vector<double> samples;
  samples.reserve(static_cast<size_t>(n));
  const long warmup = std::min(50L, n / 10);
  const double cap = now_s() + kClientCapS;
  for (long i = 0; i < warmup + n && now_s() < cap; ++i) {
    double t0 = now_s();
    if (!write_all(fd, out.data(), size)) die(io_reason("write"));
    if (!read_all(fd, in.data(), size)) die(io_reason("read"));
    if (i >= warmup) samples.push_back(now_s() - t0);
  }
  close(fd);
  report(std::move(samples), 0);
  return 0;
}

int udp_rr(const sockaddr_in& sa, long n, size_t size) {
  size = std::max(size, sizeof(uint64_t));
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die_errno("socket");
  if (connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) < 0) die_errno("connect");
  std::vector<char> out(size, 'u'), in(size + 64);
  std::vector<double> samples;
  samples.reserve(static_cast<size_t>(n));
  const long warmup = std::min(50L, n / 10);
  const long max_lost = std::max(n / 10, 20L);
  long lost = 0;
  const double cap = now_s() + kClientCapS;
  for (uint64_t seq = 0; static_cast<long>(samples.size()) < n && now_s() < cap; ++seq) {
    std::memcpy(out.data(), &seq, sizeof seq);
    double t0 = now_s();
    if (send(fd, out.data(), size, 0) < 0) die_errno("send");
    bool answered = false;
    while (!answered) {
      pollfd p{fd, POLLIN, 0};
      int left = kUdpWaitMs - static_cast<int>((now_s() - t0) * 1000);
      if (left <= 0 || poll(&p, 1, left) <= 0) break;
      ssize_t r = recv(fd, in.data(), in.size(), 0);
      if (r < 0) die(errno == ECONNREFUSED ? "recv: port unreachable" : io_reason("recv"));
      uint64_t got = 0;
      if (static_cast<size_t>(r) >= sizeof got) std::memcpy(&got, in.data(), sizeof got);
      answered = (got == seq);  // a late answer to an earlier datagram is skipped
    }
    if (!answered) {
      if (++lost > max_lost) die("udp: too many datagrams lost (" + std::to_string(lost) + ")");
      continue;
    }
    if (static_cast<long>(seq) >= warmup) samples.push_back(now_s() - t0);
  }
  close(fd);
  if (lost) std::fprintf(stderr, "udp-rr: %ld datagrams lost\n", lost);
  report(std::move(samples), 0);
  return 0;
}

int tcp_crr(const sockaddr_in& sa, long n, size_t size) {
  std::vector<char> out(size, 'c'), in(size);
  std::vector<double> samples;
  samples.reserve(static_cast<size_t>(n));
  const double start = now_s();
  const double cap = start + kClientCapS;
  for (long i = 0; i < n && now_s() < cap; ++i) {
    double t0 = now_s();
    std::string why;
    int fd = tcp_connect(sa, &why);
    if (fd < 0) die(why + " (after " + std::to_string(i) + " connections)");
    if (!write_all(fd, out.data(), size)) die(io_reason("write"));
    if (!read_all(fd, in.data(), size)) die(io_reason("read"));
    close(fd);
    samples.push_back(now_s() - t0);
  }
  double elapsed = now_s() - start;
  double cps = static_cast<double>(samples.size()) / elapsed;
  report(std::move(samples), cps);
  return 0;
}

// Raises the soft open-file limit to the hard one (the server and "hold"
// keep thousands of sockets).
void raise_nofile() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// "hold": see the header comment. Dies (exit 1) when a connection or its
// round trip fails, naming how many were open.
int hold(const sockaddr_in& sa, long n, double seconds) {
  raise_nofile();
  std::vector<int> fds;
  fds.reserve(static_cast<size_t>(n));
  char out[64], in[64];
  std::memset(out, 'h', sizeof out);
  for (long i = 0; i < n; ++i) {
    std::string why;
    int fd = tcp_connect(sa, &why);
    if (fd < 0) die(why + " (after " + std::to_string(i) + " connections)");
    if (!write_all(fd, out, sizeof out) || !read_all(fd, in, sizeof in))
      die(io_reason("round trip") + " (connection " + std::to_string(i) + ")");
    fds.push_back(fd);
  }
  std::printf("{\"open\":%zu}\n", fds.size());
  std::fflush(stdout);
  const double end = now_s() + seconds;
  while (now_s() < end) poll(nullptr, 0, 100);
  for (int fd : fds) close(fd);
  return 0;
}

// The echo server: see the header comment. Partial writes are kept per
// connection and flushed on EPOLLOUT, so a slow reader cannot lose bytes.
int server(const sockaddr_in& sa, double lifetime) {
  raise_nofile();
  int one = 1;
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int ufd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (lfd < 0 || ufd < 0) die_errno("socket");
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(lfd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) < 0) die_errno("bind tcp");
  if (listen(lfd, 1024) < 0) die_errno("listen");
  if (bind(ufd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) < 0) die_errno("bind udp");
  int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = lfd;
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  ev.data.fd = ufd;
  epoll_ctl(ep, EPOLL_CTL_ADD, ufd, &ev);
  std::unordered_map<int, std::string> pending;  // connection fd -> bytes not yet echoed
  std::vector<char> buf(65536);
  const double end = now_s() + lifetime;
  auto drop = [&](int fd) {
    pending.erase(fd);
    close(fd);  // also removes it from the epoll set
  };
  while (now_s() < end) {
    epoll_event evs[64];
    int k = epoll_wait(ep, evs, 64, 1000);
    for (int i = 0; i < k; ++i) {
      int fd = evs[i].data.fd;
      if (fd == lfd) {
        for (int c; (c = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
          pending[c];
        }
      } else if (fd == ufd) {
        sockaddr_in from{};
        socklen_t fl = sizeof from;
        for (ssize_t r; (r = recvfrom(ufd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &fl)) >= 0;
             fl = sizeof from) {
          sendto(ufd, buf.data(), static_cast<size_t>(r), 0, reinterpret_cast<sockaddr*>(&from), fl);
        }
      } else {
        std::string& p = pending[fd];
        bool dead = false;
        if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
          ssize_t r = read(fd, buf.data(), buf.size());
          if (r > 0) p.append(buf.data(), static_cast<size_t>(r));
          dead = (r == 0) || (r < 0 && errno != EAGAIN);
        }
        while (!dead && !p.empty()) {
          ssize_t w = write(fd, p.data(), p.size());
          if (w < 0) {
            dead = (errno != EAGAIN);
            break;
          }
          p.erase(0, static_cast<size_t>(w));
        }
        if (dead) {
          drop(fd);
          continue;
        }
        epoll_event cev{};
        cev.events = p.empty() ? EPOLLIN : EPOLLOUT;
        cev.data.fd = fd;
        epoll_ctl(ep, EPOLL_CTL_MOD, fd, &cev);
      }
    }
  }
  return 0;
}

int usage() {
  std::fprintf(stderr,
               "usage: netd-bench-rr server ADDR PORT [LIFETIME_S]\n"
               "       netd-bench-rr tcp-rr|udp-rr|tcp-crr ADDR PORT N SIZE\n"
               "       netd-bench-rr hold ADDR PORT N SECONDS\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) return usage();
  std::string mode = argv[1];
  sockaddr_in sa = make_addr(argv[2], argv[3]);
  if (mode == "server") return server(sa, argc > 4 ? std::atof(argv[4]) : 900.0);
  if (argc < 6) return usage();
  long n = std::atol(argv[4]);
  if (mode == "hold") {
    double seconds = std::atof(argv[5]);
    if (n <= 0 || n > 100000 || seconds <= 0) return usage();
    return hold(sa, n, seconds);
  }
  size_t size = static_cast<size_t>(std::atol(argv[5]));
  if (n <= 0 || size == 0 || size > 65536) return usage();
  if (mode == "tcp-rr") return tcp_rr(sa, n, size);
  if (mode == "udp-rr") return udp_rr(sa, n, size);
  if (mode == "tcp-crr") return tcp_crr(sa, n, size);
  return usage();
}
