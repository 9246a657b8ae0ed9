// The c-ares Forwarder (see upstream.h for the theory of operation).
#include "dns/upstream.h"

#include <ares.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include <map>
#include <mutex>
#include <unordered_map>

#include "common/log.h"

namespace netd::dns {

struct Forwarder::Impl {
  struct ChannelSet;
  struct Channel {
    ChannelSet* set = nullptr;
    ares_channel ch = nullptr;
  };
  // One server list: a UDP and a TCP channel, and the queries they carry.
  struct ChannelSet {
    Impl* owner = nullptr;
    std::string csv;   // the servers as c-ares got them (for the log)
    // Link-local servers given with a %zone: address -> interface index.
    // c-ares 1.18 has no scope ids, so our connect() hook adds them.
    std::vector<std::pair<in6_addr, uint32_t>> scopes;
    Channel udp, tcp;
    size_t open = 0;   // queries sent here whose callback has not run
    ~ChannelSet() {
      // ares_destroy fails every outstanding query (ARES_EDESTRUCTION)
      // through on_answer, which runs the callbacks not yet run and frees
      // the records.
      if (udp.ch) ares_destroy(udp.ch);
      if (tcp.ch) ares_destroy(tcp.ch);
    }
  };
  struct Query {
    Impl* impl = nullptr;
    ChannelSet* set = nullptr;
    uint16_t client_id = 0;
    bool done = false;
    Callback cb;
    std::multimap<Time, Query*>::iterator deadline;
  };

  Impl(Options o, SocketWatcher& w) : opts(std::move(o)), watcher(w) {}
  ~Impl();

  Options opts;
  SocketWatcher& watcher;
  std::unique_ptr<ChannelSet> current;                // takes new queries
  std::vector<std::unique_ptr<ChannelSet>> retiring;  // earlier lists, draining
  std::unordered_map<int, ares_channel> fd_owner;
  std::multimap<Time, Query*> deadlines;   // queries whose callback has not run
  Duration bound{};
  in_addr src4{};
  in6_addr src6{};

  // A channel pair for `servers`; an error text if none is usable.
  Expected<std::unique_ptr<ChannelSet>, std::string> make_set(const std::vector<UpstreamServer>& servers);
  // Destroys the retiring sets that carry no query any more.
  void reap();
  static void on_sock_state(void* data, ares_socket_t fd, int readable, int writable);
  static void on_answer(void* arg, int status, int timeouts, unsigned char* abuf, int alen);
  // Runs the user callback once and marks the query done (record stays for c-ares).
  void finish(Query* q, Expected<std::vector<std::byte>, int> result);
};

namespace {
std::once_flag g_ares_init;

// With socket functions set, c-ares 1.18 configures nothing itself: the
// sockets must be non-blocking from the start (and TCP gets TCP_NODELAY).
ares_socket_t sock_open(int af, int type, int proto, void*) {
  int fd = ::socket(af, type | SOCK_CLOEXEC | SOCK_NONBLOCK, proto);
  if (fd >= 0 && type == SOCK_STREAM) {
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  return fd;
}
int sock_close(ares_socket_t fd, void*) { return ::close(fd); }
int sock_connect(ares_socket_t fd, const sockaddr* sa, ares_socklen_t len, void* data) {
  auto* set = static_cast<Forwarder::Impl::ChannelSet*>(data);
  if (sa->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    sockaddr_in6 a;
    std::memcpy(&a, sa, sizeof a);
    for (const auto& [addr, scope] : set->scopes) {
      if (std::memcmp(&addr, &a.sin6_addr, sizeof addr) == 0) {
        a.sin6_scope_id = scope;
        return ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a);
      }
    }
  }
  return ::connect(fd, sa, len);
}
ares_ssize_t sock_recvfrom(ares_socket_t fd, void* buf, size_t n, int flags, sockaddr* from,
                           ares_socklen_t* fromlen, void*) {
  return ::recvfrom(fd, buf, n, flags, from, fromlen);
}
ares_ssize_t sock_sendv(ares_socket_t fd, const iovec* iov, int n, void*) { return ::writev(fd, iov, n); }
const ares_socket_functions kScopedSockets = {sock_open, sock_close, sock_connect, sock_recvfrom, sock_sendv};

// "fe80::1%eth0" -> (address, ifindex); false if the zone names no interface.
bool resolve_zone(const std::string& text, in6_addr* addr, uint32_t* scope) {
  auto pct = text.find('%');
  std::string a = text.substr(0, pct), zone = text.substr(pct + 1);
  if (inet_pton(AF_INET6, a.c_str(), addr) != 1) return false;
  if (!zone.empty() && zone.find_first_not_of("0123456789") == std::string::npos) {
    *scope = static_cast<uint32_t>(std::stoul(zone));
    return true;
  }
  *scope = if_nametoindex(zone.c_str());
  return *scope != 0;
}
}  // namespace

std::string ares_status_text(int status) { return ares_strerror(status); }

std::string resolv_conf_path() {
  const char* env = std::getenv("NETD_RESOLV_CONF");
  return env && *env ? env : "/etc/resolv.conf";
}

void Forwarder::Impl::on_sock_state(void* data, ares_socket_t fd, int readable, int writable) {
  auto* c = static_cast<Channel*>(data);
  Impl* impl = c->set->owner;
  if (readable || writable)
    impl->fd_owner[fd] = c->ch;
  else
    impl->fd_owner.erase(fd);
  impl->watcher.watch(fd, readable != 0, writable != 0);
}

void Forwarder::Impl::finish(Query* q, Expected<std::vector<std::byte>, int> result) {
  if (q->done) return;
  q->done = true;
  --q->set->open;
  deadlines.erase(q->deadline);
  Callback cb = std::move(q->cb);
  q->cb = nullptr;
  if (cb) cb(std::move(result));
}

void Forwarder::Impl::on_answer(void* arg, int status, int, unsigned char* abuf, int alen) {
  auto* q = static_cast<Query*>(arg);
  if (!q->done) {
    if (status == ARES_SUCCESS && abuf && alen >= 2) {
      std::vector<std::byte> reply(reinterpret_cast<const std::byte*>(abuf),
                                   reinterpret_cast<const std::byte*>(abuf) + alen);
      reply[0] = static_cast<std::byte>(q->client_id >> 8);
      reply[1] = static_cast<std::byte>(q->client_id & 0xFF);
      q->impl->finish(q, std::move(reply));
    } else {
      q->impl->finish(q, unexpected(status == ARES_SUCCESS ? ARES_EBADRESP : status));
    }
  }
  delete q;
}

Forwarder::Impl::~Impl() {
  retiring.clear();
  current.reset();
  while (!deadlines.empty()) finish(deadlines.begin()->second, unexpected(ARES_EDESTRUCTION));
}

Expected<std::unique_ptr<Forwarder::Impl::ChannelSet>, std::string> Forwarder::Impl::make_set(
    const std::vector<UpstreamServer>& servers) {
  // Servers with a zone go to c-ares without it; the connect hook adds the scope.
  auto set = std::make_unique<ChannelSet>();
  set->owner = this;
  for (const auto& s : servers) {
    UpstreamServer plain = s;
    if (auto pct = s.addr.find('%'); pct != std::string::npos) {
      in6_addr a;
      uint32_t scope = 0;
      if (!resolve_zone(s.addr, &a, &scope)) {
        LOG_WARN("upstream %s: no such interface, skipped", to_string(s).c_str());
        continue;
      }
      set->scopes.emplace_back(a, scope);
      plain.addr = s.addr.substr(0, pct);
    }
    if (!set->csv.empty()) set->csv += ',';
    set->csv += to_string(plain);
  }
  if (set->csv.empty()) return unexpected(std::string("no usable upstream DNS servers"));

  for (bool tcp : {false, true}) {
    Channel& c = tcp ? set->tcp : set->udp;
    c.set = set.get();
    ares_options o{};
    // An empty search list (we never search: ARES_FLAG_NOSEARCH) also keeps
    // c-ares from deriving one from the host name: set_servers() makes
    // channels inside the sandbox, whose seccomp list has no uname().
    int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB | ARES_OPT_DOMAINS;
    o.domains = nullptr;
    o.ndomains = 0;
    o.flags = ARES_FLAG_STAYOPEN | ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES |
              (tcp ? ARES_FLAG_USEVC : ARES_FLAG_IGNTC);
    o.timeout = static_cast<int>(opts.timeout.count());
    o.tries = opts.tries;
    o.sock_state_cb = &Impl::on_sock_state;
    o.sock_state_cb_data = &c;
    int rc = ares_init_options(&c.ch, &o, mask);
    if (rc != ARES_SUCCESS) {
      c.ch = nullptr;
      return unexpected("c-ares init failed: " + ares_status_text(rc));
    }
    if (!set->scopes.empty()) ares_set_socket_functions(c.ch, &kScopedSockets, set.get());
    // c-ares binds its sockets to these (after our socket hook, if any, made them).
    if (!opts.source4.empty()) ares_set_local_ip4(c.ch, ntohl(src4.s_addr));
    if (!opts.source6.empty()) ares_set_local_ip6(c.ch, src6.s6_addr);
    rc = ares_set_servers_ports_csv(c.ch, set->csv.c_str());
    if (rc != ARES_SUCCESS)
      return unexpected("c-ares rejected upstream servers '" + set->csv + "': " + ares_status_text(rc));
  }
  return set;
}

void Forwarder::Impl::reap() {
  std::erase_if(retiring, [](const std::unique_ptr<ChannelSet>& s) { return s->open == 0; });
}

Expected<std::unique_ptr<Forwarder>, std::string> Forwarder::create(Options opts, SocketWatcher& w) {
  std::call_once(g_ares_init, [] { ares_library_init(ARES_LIB_INIT_ALL); });
  if (opts.tries < 1) opts.tries = 1;
  if (opts.timeout.count() < 1) opts.timeout = std::chrono::milliseconds(1);

  auto impl = std::make_unique<Impl>(std::move(opts), w);
  if (!impl->opts.source4.empty() && ::inet_pton(AF_INET, impl->opts.source4.c_str(), &impl->src4) != 1)
    return unexpected("bad IPv4 source address '" + impl->opts.source4 + "'");
  if (!impl->opts.source6.empty() && ::inet_pton(AF_INET6, impl->opts.source6.c_str(), &impl->src6) != 1)
    return unexpected("bad IPv6 source address '" + impl->opts.source6 + "'");
  impl->bound = std::chrono::duration_cast<Duration>(impl->opts.timeout * impl->opts.tries);
  auto set = impl->make_set(impl->opts.servers);
  if (!set) return unexpected(set.error());
  impl->current = std::move(*set);
  return std::unique_ptr<Forwarder>(new Forwarder(std::move(impl)));
}

Expected<void, std::string> Forwarder::set_servers(std::vector<UpstreamServer> servers) {
  auto set = impl_->make_set(servers);
  if (!set) return unexpected(set.error());
  impl_->opts.servers = std::move(servers);
  // The old list keeps its sockets until its queries are answered.
  impl_->retiring.push_back(std::move(impl_->current));
  impl_->current = std::move(*set);
  impl_->reap();
  return {};
}

Expected<void, std::string> Forwarder::set_sources(std::string source4, std::string source6) {
  in_addr src4{};
  in6_addr src6{};
  if (!source4.empty() && ::inet_pton(AF_INET, source4.c_str(), &src4) != 1)
    return unexpected("bad IPv4 source address '" + source4 + "'");
  if (!source6.empty() && ::inet_pton(AF_INET6, source6.c_str(), &src6) != 1)
    return unexpected("bad IPv6 source address '" + source6 + "'");
  Impl& impl = *impl_;
  std::swap(impl.opts.source4, source4);
  std::swap(impl.opts.source6, source6);
  std::swap(impl.src4, src4);
  std::swap(impl.src6, src6);
  auto set = impl.make_set(impl.opts.servers);
  if (!set) {  // (the servers were usable a moment ago: c-ares out of memory)
    std::swap(impl.opts.source4, source4);
    std::swap(impl.opts.source6, source6);
    std::swap(impl.src4, src4);
    std::swap(impl.src6, src6);
    return unexpected(set.error());
  }
  impl.retiring.push_back(std::move(impl.current));
  impl.current = std::move(*set);
  impl.reap();
  return {};
}

size_t Forwarder::retiring() const { return impl_->retiring.size(); }

Forwarder::Forwarder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Forwarder::~Forwarder() = default;

void Forwarder::forward(std::span<const std::byte> query, bool tcp, Callback cb) {
  if (query.size() < 12 || query.size() > 65535) {
    if (cb) cb(unexpected(int{ARES_EBADQUERY}));
    return;
  }
  Impl::ChannelSet& set = *impl_->current;
  auto* q = new Impl::Query;
  q->impl = impl_.get();
  q->set = &set;
  ++set.open;
  q->client_id = static_cast<uint16_t>((std::to_integer<unsigned>(query[0]) << 8) |
                                       std::to_integer<unsigned>(query[1]));
  q->cb = std::move(cb);
  q->deadline = impl_->deadlines.emplace(Clock::now() + impl_->bound, q);
  ares_send(tcp ? set.tcp.ch : set.udp.ch, reinterpret_cast<const unsigned char*>(query.data()),
            static_cast<int>(query.size()), &Impl::on_answer, q);
}

void Forwarder::process(int fd, bool readable, bool writable) {
  auto it = impl_->fd_owner.find(fd);
  if (it == impl_->fd_owner.end()) return;
  ares_process_fd(it->second, readable ? fd : ARES_SOCKET_BAD, writable ? fd : ARES_SOCKET_BAD);
  impl_->reap();
}

std::optional<Time> Forwarder::next_deadline(Time now) const {
  std::optional<Time> best;
  auto take = [&](Time t) {
    if (!best || t < *best) best = t;
  };
  if (!impl_->deadlines.empty()) take(impl_->deadlines.begin()->first);
  auto channel_timeouts = [&](const Impl::ChannelSet& set) {
    for (ares_channel ch : {set.udp.ch, set.tcp.ch}) {
      timeval tv{};
      if (ares_timeout(ch, nullptr, &tv))
        take(now + std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec));
    }
  };
  channel_timeouts(*impl_->current);
  for (const auto& set : impl_->retiring) channel_timeouts(*set);
  return best;
}

void Forwarder::on_timer() {
  auto process_timeouts = [](Impl::ChannelSet& set) {
    ares_process_fd(set.udp.ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    ares_process_fd(set.tcp.ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  };
  process_timeouts(*impl_->current);
  for (auto& set : impl_->retiring) process_timeouts(*set);
  const Time now = Clock::now();
  while (!impl_->deadlines.empty() && impl_->deadlines.begin()->first <= now)
    impl_->finish(impl_->deadlines.begin()->second, unexpected(int{ARES_ETIMEOUT}));
  impl_->reap();
}

size_t Forwarder::pending() const { return impl_->deadlines.size(); }
const Forwarder::Options& Forwarder::options() const { return impl_->opts; }

}  // namespace netd::dns
