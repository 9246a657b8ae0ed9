// A tiny DNS responder for tests, on 127.0.0.1 only (UDP and TCP, same port),
// served by its own thread. Answers by question name:
//   "silent.test"  never answered;
//   "tc.test"      over UDP: TC set, no answers; over TCP: A 5.6.7.8;
//   "nx.test"      NXDOMAIN with an SOA (minimum 30) in authority;
//   anything else  A 1.2.3.4, TTL 30.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <atomic>
#include <thread>
#include <vector>

#include "dns/wire/builder.h"

namespace netd::dns::test {

class TestResponder {
 public:
  TestResponder() {
    for (int attempt = 0; attempt < 20 && port_ == 0; ++attempt) {
      udp_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      bind(udp_, reinterpret_cast<sockaddr*>(&a), sizeof a);
      socklen_t len = sizeof a;
      getsockname(udp_, reinterpret_cast<sockaddr*>(&a), &len);
      tcp_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      int one = 1;
      setsockopt(tcp_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (bind(tcp_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && listen(tcp_, 16) == 0) {
        port_ = ntohs(a.sin_port);
      } else {
        close(udp_);
        close(tcp_);
      }
    }
    thread_ = std::thread([this] { run(); });
  }
  ~TestResponder() {
    stop_ = true;
    thread_.join();
    for (auto& t : conns_) t.join();
    close(udp_);
    close(tcp_);
  }
  uint16_t port() const { return port_; }
  int udp_queries() const { return udp_count_; }
  int tcp_queries() const { return tcp_count_; }
  // The source address (host order) of the last UDP query / TCP connection.
  uint32_t last_udp_source() const { return udp_source_; }
  uint32_t last_tcp_source() const { return tcp_source_; }

  static std::optional<std::vector<std::byte>> answer(std::span<const std::byte> q, bool tcp) {
    using namespace netd::dns::wire;
    auto v = MessageView::parse(q);
    if (!v) return std::nullopt;
    auto question = v->first_question();
    if (!question) return std::nullopt;
    std::string n = question->name.lower_text();
    if (n == "silent.test") return std::nullopt;
    ReplyBuilder b(*v, tcp ? 65535 : 512);
    if (n == "tc.test" && !tcp) {
      auto out = b.finish();
      out[2] |= std::byte{0x02};
      return out;
    }
    if (n == "nx.test") {
      b.set_rcode(Rcode::NxDomain);
      return b.finish();
    }
    b.add_a(30, n == "tc.test" ? std::array<uint8_t, 4>{5, 6, 7, 8} : std::array<uint8_t, 4>{1, 2, 3, 4});
    return b.finish();
  }

 private:
  void run() {
    while (!stop_) {
      pollfd p[2] = {{udp_, POLLIN, 0}, {tcp_, POLLIN, 0}};
      if (poll(p, 2, 50) <= 0) continue;
      if (p[0].revents & POLLIN) {
        std::byte buf[4096];
        sockaddr_in from{};
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(udp_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
        if (n > 0) {
          udp_source_ = ntohl(from.sin_addr.s_addr);
          ++udp_count_;
          if (auto r = answer({buf, static_cast<size_t>(n)}, false))
            sendto(udp_, r->data(), r->size(), 0, reinterpret_cast<sockaddr*>(&from), fl);
        }
      }
      if (p[1].revents & POLLIN) {
        sockaddr_in from{};
        socklen_t fl = sizeof from;
        int c = accept4(tcp_, reinterpret_cast<sockaddr*>(&from), &fl, SOCK_CLOEXEC);
        if (c >= 0) tcp_source_ = ntohl(from.sin_addr.s_addr);
        if (c >= 0) conns_.emplace_back([this, c] { serve_tcp(c); });
      }
    }
  }
  // One connection on its own thread: queries until EOF or stop.
  void serve_tcp(int c) {
    timeval tv{0, 100000};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    for (int i = 0; i < 100000 && !stop_; ++i) {
      unsigned char lenb[2];
      if (!read_full(c, lenb, 2)) break;
      size_t len = (lenb[0] << 8) | lenb[1];
      std::vector<std::byte> q(len);
      if (!read_full(c, q.data(), len)) break;
      ++tcp_count_;
      auto r = answer(q, true);
      if (!r) continue;
      unsigned char hdr[2] = {static_cast<unsigned char>(r->size() >> 8),
                              static_cast<unsigned char>(r->size() & 0xFF)};
      if (write(c, hdr, 2) != 2 || write(c, r->data(), r->size()) != static_cast<ssize_t>(r->size())) break;
    }
    close(c);
  }
  bool read_full(int fd, void* p, size_t n) {
    auto* b = static_cast<unsigned char*>(p);
    while (n > 0) {
      ssize_t r = read(fd, b, n);
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !stop_) continue;
      if (r <= 0) return false;
      b += r;
      n -= static_cast<size_t>(r);
    }
    return true;
  }

  int udp_ = -1, tcp_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> udp_count_{0}, tcp_count_{0};
  std::atomic<uint32_t> udp_source_{0}, tcp_source_{0};
  std::thread thread_;
  std::vector<std::thread> conns_;
};

}  // namespace netd::dns::test
