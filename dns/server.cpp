#include "dns/server.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <deque>

#include "common/log.h"
#include "common/net/endpoint.h"
#include "dns/wire/builder.h"

namespace netd::dns {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using boost::system::error_code;

namespace {
net::IpAddr from_asio(const asio::ip::address& a) {
  if (a.is_v4()) return net::Ipv4Addr{a.to_v4().to_uint()};
  net::Ipv6Addr r;
  auto b = a.to_v6().to_bytes();
  std::copy(b.begin(), b.end(), r.b.begin());
  return r;  // a v4-mapped peer is its IPv4 address (common/net/ip.h)
}
asio::ip::address to_asio(const net::IpAddr& a) {
  if (a.is_v4()) return asio::ip::address_v4(a.v4().v);
  asio::ip::address_v6::bytes_type b;
  std::copy(a.b.begin(), a.b.end(), b.begin());
  return asio::ip::address_v6(b);
}
log::RateLimit g_trace_limit(std::chrono::seconds(1), 20);


}  // namespace

struct Server::Listener : std::enable_shared_from_this<Listener> {
  // Datagrams taken per recvmmsg, and how large one may be: a query is one
  // question and at most an OPT record, far below this; a longer datagram
  // comes truncated (MSG_TRUNC) and is dropped.
  static constexpr unsigned kBatch = 32;
  static constexpr size_t kSlot = 4096;
  // recvmmsg calls per readiness before the loop gets a turn again.
  static constexpr int kBatchesPerWake = 2;

  Listener(Server& s, net::IpAddr a) : server(&s), addr(a), udp_sock(s.io_), acceptor(s.io_) {}
  Server* server;   // nulled when closed
  net::IpAddr addr;
  udp::socket udp_sock;
  tcp::acceptor acceptor;
  size_t sessions = 0;
  // The receive batch: kBatch slots, their sources, and the replies
  // answered at once (local names, cache hits, errors), sent together.
  std::vector<std::byte> slots = std::vector<std::byte>(kBatch * kSlot);
  std::array<sockaddr_storage, kBatch> sources{};
  std::array<iovec, kBatch> rx_iov{};
  std::array<mmsghdr, kBatch> rx_msgs{};
  std::array<std::vector<std::byte>, kBatch> replies;
  std::array<iovec, kBatch> tx_iov{};
  std::array<mmsghdr, kBatch> tx_msgs{};

  std::string open(uint16_t port) {
    error_code ec;
    udp::endpoint uep(to_asio(addr), port);
    udp_sock.open(uep.protocol(), ec);
    if (!ec) udp_sock.bind(uep, ec);
    if (!ec) udp_sock.non_blocking(true, ec);
    if (ec) return "cannot listen on udp " + addr.to_string() + ":" + std::to_string(port) + ": " + ec.message();
    tcp::endpoint tep(to_asio(addr), port);
    acceptor.open(tep.protocol(), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.bind(tep, ec);
    if (!ec) acceptor.listen(128, ec);
    if (ec) return "cannot listen on tcp " + addr.to_string() + ":" + std::to_string(port) + ": " + ec.message();
    return {};
  }
  void start() {
    wait_udp();
    accept();
  }
  void close() {
    server = nullptr;
    error_code ec;
    udp_sock.close(ec);
    acceptor.close(ec);
  }
  void wait_udp() {
    auto self = shared_from_this();
    udp_sock.async_wait(udp::socket::wait_read, [self](const error_code& ec) {
      if (ec || !self->server) return;
      self->drain_udp();
      self->wait_udp();
    });
  }
  // Takes what the socket holds, a batch per recvmmsg, and sends the
  // replies known at once with one sendmmsg per batch: two system calls per
  // batch instead of two per query. Forwarded queries are answered later,
  // each with its own send.
  void drain_udp() {
    for (int b = 0; b < kBatchesPerWake && server; ++b) {
      for (unsigned i = 0; i < kBatch; ++i) {
        rx_iov[i] = {slots.data() + i * kSlot, kSlot};
        rx_msgs[i] = {};
        rx_msgs[i].msg_hdr.msg_name = &sources[i];
        rx_msgs[i].msg_hdr.msg_namelen = sizeof sources[i];
        rx_msgs[i].msg_hdr.msg_iov = &rx_iov[i];
        rx_msgs[i].msg_hdr.msg_iovlen = 1;
      }
      // (An error, e.g. an ICMP error left by an earlier send, ends the round.)
      int n = ::recvmmsg(udp_sock.native_handle(), rx_msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
      if (n <= 0) return;
      unsigned n_tx = 0;
      for (int i = 0; i < n && server; ++i) {
        const msghdr& h = rx_msgs[i].msg_hdr;
        if (h.msg_flags & MSG_TRUNC) continue;
        std::span<const std::byte> query(slots.data() + size_t(i) * kSlot, rx_msgs[i].msg_len);
        const auto peer = net::endpoint_from(sources[i]);
        if (!peer) continue;  // not an IP source: nothing to answer
        Decision d = server->decide(peer->addr, addr, false, query);
        if (d.kind == Decision::Kind::Reply) {
          if (d.reply.empty()) continue;
          replies[n_tx] = std::move(d.reply);
          tx_iov[n_tx] = {replies[n_tx].data(), replies[n_tx].size()};
          tx_msgs[n_tx] = {};
          tx_msgs[n_tx].msg_hdr.msg_name = &sources[i];
          tx_msgs[n_tx].msg_hdr.msg_namelen = h.msg_namelen;
          tx_msgs[n_tx].msg_hdr.msg_iov = &tx_iov[n_tx];
          tx_msgs[n_tx].msg_hdr.msg_iovlen = 1;
          ++n_tx;
        } else if (d.kind == Decision::Kind::Forward) {
          udp::endpoint from;
          std::memcpy(from.data(), &sources[i], h.msg_namelen);
          from.resize(h.msg_namelen);
          auto self = shared_from_this();
          server->forward(std::move(d), false, query, [self, from](std::vector<std::byte> reply) {
            if (reply.empty() || !self->server) return;
            error_code e2;
            self->udp_sock.send_to(asio::buffer(reply.data(), reply.size()), from, 0, e2);
          });
        }
      }
      send_replies(n_tx);
      if (static_cast<unsigned>(n) < kBatch) return;  // the socket is empty
    }
  }
  // Sends the first `n` batched replies; one that fails (a full socket
  // buffer, a gone client) is lost, as UDP may lose it, and the rest go on.
  void send_replies(unsigned n) {
    for (unsigned i = 0; i < n;) {
      int sent = ::sendmmsg(udp_sock.native_handle(), tx_msgs.data() + i, n - i, MSG_DONTWAIT | MSG_NOSIGNAL);
      i += sent > 0 ? static_cast<unsigned>(sent) : 1;
    }
    for (unsigned i = 0; i < n; ++i) replies[i].clear();
  }
  void accept();
};

// One TCP connection. Queries are read back to back (pipelining, RFC 7766
// §6.2.1.1) and answered as they complete, so a slow forwarded query does not
// hold up local answers behind it; at most kMaxInFlight are open at once
// (then reading pauses). Replies are written one at a time from a queue. The
// idle timer runs while a read waits and no reply is pending. After the
// client's EOF the session finishes the replies it owes, then closes.
struct Server::TcpSession : std::enable_shared_from_this<TcpSession> {
  static constexpr size_t kMaxInFlight = 16;
  TcpSession(std::shared_ptr<Listener> l, tcp::socket s)
      : listener(std::move(l)), sock(std::move(s)), idle(sock.get_executor()) {}
  ~TcpSession() { --listener->sessions; }
  std::shared_ptr<Listener> listener;
  tcp::socket sock;
  asio::steady_timer idle;
  std::array<unsigned char, 2> len{};
  std::vector<std::byte> body;
  std::deque<std::vector<std::byte>> out;   // framed replies; front() is being written
  net::IpAddr peer;
  size_t in_flight = 0;
  bool reading = false, writing = false, read_done = false, closed = false;

  void start() {
    error_code ec;
    auto ep = sock.remote_endpoint(ec);
    if (ec) return;
    peer = from_asio(ep.address());
    read_next();
  }
  void arm_idle() {
    if (!listener->server) return close();
    idle.expires_after(listener->server->options().tcp_idle);
    std::weak_ptr<TcpSession> weak = shared_from_this();
    idle.async_wait([weak](const error_code& ec) {
      if (ec) return;
      auto s = weak.lock();
      if (!s) return;
      if (s->in_flight > 0 || s->writing) return s->arm_idle();   // we owe replies
      s->close();
    });
  }
  void close() {
    if (closed) return;
    closed = true;
    error_code ec;
    sock.shutdown(tcp::socket::shutdown_both, ec);
    sock.close(ec);
    idle.cancel();
  }
  void maybe_finish() {
    if (read_done && in_flight == 0 && !writing) close();
  }
  void read_next() {
    if (closed || reading || read_done || in_flight >= kMaxInFlight) return;
    reading = true;
    arm_idle();
    auto self = shared_from_this();
    asio::async_read(sock, asio::buffer(len), [self](const error_code& ec, size_t) {
      if (ec) return self->end_of_reading();
      size_t n = (size_t{self->len[0]} << 8) | self->len[1];
      if (n == 0) return self->end_of_reading();
      self->body.resize(n);
      asio::async_read(self->sock, asio::buffer(self->body), [self](const error_code& e2, size_t) {
        if (e2) return self->end_of_reading();
        self->reading = false;
        self->idle.cancel();
        self->answer();
        self->read_next();
      });
    });
  }
  void end_of_reading() {
    reading = false;
    read_done = true;
    if (in_flight == 0 && !writing) close();
  }
  void answer() {
    Server* srv = listener->server;
    if (!srv) return close();
    ++in_flight;
    auto self = shared_from_this();
    srv->handle(peer, listener->addr, true, body, [self](std::vector<std::byte> reply) {
      --self->in_flight;
      self->enqueue(std::move(reply));
      self->read_next();
      self->maybe_finish();
    });
  }
  // Queues one reply (empty: the query was dropped, nothing to send).
  void enqueue(std::vector<std::byte> reply) {
    if (closed || reply.empty() || reply.size() > 65535) return;
    std::vector<std::byte> framed;
    framed.reserve(reply.size() + 2);
    framed.push_back(static_cast<std::byte>(reply.size() >> 8));
    framed.push_back(static_cast<std::byte>(reply.size() & 0xFF));
    framed.insert(framed.end(), reply.begin(), reply.end());
    out.push_back(std::move(framed));
    if (!writing) write_front();
  }
  void write_front() {
    writing = true;
    auto self = shared_from_this();
    asio::async_write(sock, asio::buffer(out.front()), [self](const error_code& ec, size_t) {
      self->out.pop_front();
      if (ec) {
        self->writing = false;
        return self->close();
      }
      if (!self->out.empty()) return self->write_front();
      self->writing = false;
      self->maybe_finish();
    });
  }
};

void Server::Listener::accept() {
  auto self = shared_from_this();
  acceptor.async_accept([self](const error_code& ec, tcp::socket s) {
    if (!self->server) return;
    if (!ec) {
      if (self->sessions >= self->server->options().max_tcp_sessions) {
        error_code e2;
        s.close(e2);
      } else {
        ++self->sessions;
        std::make_shared<TcpSession>(self, std::move(s))->start();
      }
    } else if (ec == asio::error::operation_aborted) {
      return;
    }
    self->accept();
  });
}

Server::Server(asio::io_context& io, ServerOptions o) : io_(io), opts_(std::move(o)), engine_(opts_.engine) {}

Server::~Server() {
  drivers_.clear();   // pending forwarded queries fail (SERVFAIL) while listeners exist
  for (auto& [k, l] : listeners_) l->close();
}

std::vector<std::string> Server::apply(std::shared_ptr<const NameTable> table) {
  std::vector<std::string> errors;
  std::map<std::string, net::IpAddr> want;
  for (const auto& a : table->listen_addresses()) want.emplace(a.to_string(), a);
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    if (!want.count(it->first)) {
      LOG_INFO("closing listener %s", it->first.c_str());
      it->second->close();
      it = listeners_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [text, addr] : want) {
    if (listeners_.count(text)) continue;
    auto l = std::make_shared<Listener>(*this, addr);
    std::string err = l->open(opts_.port);
    if (!err.empty()) {
      l->close();
      errors.push_back(err);
      continue;
    }
    l->start();
    LOG_INFO("listening on %s port %u (udp, tcp)", text.c_str(), unsigned{opts_.port});
    listeners_.emplace(text, std::move(l));
  }
  table_ = std::move(table);
  engine_.cache().clear();   // upstream lists may have changed
  // Idle forwarders may belong to upstream lists that are gone: drop them
  // (they are re-created on first use). Busy ones finish their queries.
  for (auto it = drivers_.begin(); it != drivers_.end();)
    it = it->second->forwarder().pending() == 0 ? drivers_.erase(it) : std::next(it);
  return errors;
}

void Server::set_default_upstreams(std::vector<UpstreamServer> u) { engine_.set_default_upstreams(std::move(u)); }

ForwarderDriver* Server::driver_for(const std::vector<UpstreamServer>& ups) {
  std::string key;
  for (const auto& u : ups) key += to_string(u) + ",";
  auto it = drivers_.find(key);
  if (it != drivers_.end()) return it->second.get();
  Forwarder::Options fo;
  fo.servers = ups;
  fo.timeout = opts_.upstream_timeout;
  fo.tries = opts_.upstream_tries;
  auto d = ForwarderDriver::create(io_, std::move(fo));
  if (!d) {
    LOG_WARN("upstream %s: %s", key.c_str(), d.error().c_str());
    return nullptr;
  }
  return drivers_.emplace(key, std::move(*d)).first->second.get();
}

Decision Server::decide(const net::IpAddr& source, const net::IpAddr& listen, bool tcp, std::span<const std::byte> query) {
  static const NameTable empty_table({});
  const NameTable& table = table_ ? *table_ : empty_table;
  Time now = Clock::now();
  Decision d = engine_.on_query(now, table, {source, listen, tcp}, query);
  if (log::enabled(log::Level::Debug) && g_trace_limit.allow(now))
    LOG_DEBUG("query from %s (%s): %s", source.to_string().c_str(), tcp ? "tcp" : "udp", d.why);
  return d;
}

void Server::handle(const net::IpAddr& source, const net::IpAddr& listen, bool tcp, std::span<const std::byte> query,
                    std::function<void(std::vector<std::byte>)> send) {
  Decision d = decide(source, listen, tcp, query);
  switch (d.kind) {
    case Decision::Kind::Drop:
      return send({});
    case Decision::Kind::Reply:
      return send(std::move(d.reply));
    case Decision::Kind::Forward:
      return forward(std::move(d), tcp, query, std::move(send));
  }
}

void Server::forward(Decision d, bool tcp, std::span<const std::byte> query,
                     std::function<void(std::vector<std::byte>)> send) {
  ForwarderDriver* drv = driver_for(d.upstreams);
  if (!drv) return send(wire::make_servfail(query).value_or(std::vector<std::byte>{}));
  std::vector<std::byte> copy(query.begin(), query.end());
  const bool via_tcp =
      tcp && !(opts_.default_upstreams_udp_only && d.upstreams == engine_.options().default_upstreams);
  drv->forwarder().forward(
      query, via_tcp,
      [this, key = std::move(d.cache_key), copy = std::move(copy), send = std::move(send)](
          Expected<std::vector<std::byte>, int> r) {
        if (r) {
          engine_.on_upstream_reply(Clock::now(), key, *r);
          return send(std::move(*r));
        }
        if (log::enabled(log::Level::Debug))
          LOG_DEBUG("upstream failed: %s", ares_status_text(r.error()).c_str());
        send(wire::make_servfail(copy).value_or(std::vector<std::byte>{}));
      });
  drv->kick();
}

}  // namespace netd::dns
