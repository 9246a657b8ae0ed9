#include "dns/server.h"

#include <array>
#include <deque>

#include "common/log.h"
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
  Listener(Server& s, net::IpAddr a) : server(&s), addr(a), udp_sock(s.io_), acceptor(s.io_) {}
  Server* server;   // nulled when closed
  net::IpAddr addr;
  udp::socket udp_sock;
  tcp::acceptor acceptor;
  std::array<std::byte, 65535> buf;
  size_t sessions = 0;

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
  void drain_udp() {
    for (int i = 0; i < 64 && server; ++i) {
      udp::endpoint from;
      error_code ec;
      size_t n = udp_sock.receive_from(asio::buffer(buf.data(), buf.size()), from, 0, ec);
      if (ec) return;   // would_block, or an ICMP error from an earlier send
      auto self = shared_from_this();
      server->handle(from_asio(from.address()), addr, false, {buf.data(), n},
                     [self, from](std::vector<std::byte> reply) {
                       if (reply.empty()) return;
                       error_code e2;
                       self->udp_sock.send_to(asio::buffer(reply.data(), reply.size()), from, 0, e2);
                     });
    }
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

void Server::handle(const net::IpAddr& source, const net::IpAddr& listen, bool tcp, std::span<const std::byte> query,
                    std::function<void(std::vector<std::byte>)> send) {
  static const NameTable empty_table({});
  const NameTable& table = table_ ? *table_ : empty_table;
  Time now = Clock::now();
  Decision d = engine_.on_query(now, table, {source, listen, tcp}, query);
  if (log::enabled(log::Level::Debug) && g_trace_limit.allow(now))
    LOG_DEBUG("query from %s (%s): %s", source.to_string().c_str(), tcp ? "tcp" : "udp", d.why);
  switch (d.kind) {
    case Decision::Kind::Drop:
      return send({});
    case Decision::Kind::Reply:
      return send(std::move(d.reply));
    case Decision::Kind::Forward:
      break;
  }
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
