#include "netd/pasta_outbound.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "common/net/endpoint.h"
#include "portfwd/connector.h"

namespace netd {
namespace {

const net::IpAddr kLoopback4 = net::Ipv4Addr::from_octets(127, 0, 0, 1);
const net::IpAddr kLoopback6 = net::Ipv6Addr::loopback();

// Opens the host side in netd's own network namespace: the host's loopback.
class HostConnector final : public portfwd::Connector {
 public:
  Expected<UniqueFd, std::string> connect(portfwd::Proto proto, const net::IpAddr& addr, uint16_t port) override {
    net::SockAddr sa = net::to_sockaddr(addr, port);
    int type = (proto == portfwd::Proto::Udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC;
    UniqueFd fd(::socket(sa.family(), type, 0));
    if (!fd) return unexpected(std::string("socket: ") + std::strerror(errno));
    if (::connect(fd.get(), sa.get(), sa.len) != 0 && errno != EINPROGRESS)
      return unexpected(std::string("connect: ") + std::strerror(errno));
    return fd;
  }
};

// Inside the namespace: a non-blocking socket bound to l.listen:l.port
// (listening, for TCP). EADDRNOTAVAIL/EAFNOSUPPORT for ::1 mean the
// namespace has no IPv6 loopback: `no_family` is then set and no fd made.
Expected<int, std::string> bind_in_namespace(const OutboundListener& l, bool* no_family) {
  net::SockAddr sa = net::to_sockaddr(l.listen, l.port);
  int type = (l.proto == portfwd::Proto::Udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC;
  int fd = ::socket(sa.family(), type, 0);
  if (fd < 0) {
    if (l.listen.is_v6() && errno == EAFNOSUPPORT) {
      *no_family = true;
      return -1;
    }
    return unexpected(std::string("socket: ") + std::strerror(errno));
  }
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (l.listen.is_v6()) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(fd, sa.get(), sa.len) != 0) {
    int e = errno;
    ::close(fd);
    if (l.listen.is_v6() && e == EADDRNOTAVAIL) {
      *no_family = true;
      return -1;
    }
    return unexpected("cannot bind " + l.listen.to_string() + " port " + std::to_string(l.port) +
                      " in the namespace: " + std::strerror(e));
  }
  if (l.proto == portfwd::Proto::Tcp && ::listen(fd, SOMAXCONN) != 0) {
    int e = errno;
    ::close(fd);
    return unexpected(std::string("listen: ") + std::strerror(e));
  }
  return fd;
}

std::string describe(const OutboundListener& l) {
  return std::string(portfwd::proto_name(l.proto)) + " " + l.listen.to_string() + ":" + std::to_string(l.port);
}

}  // namespace

bool drop_outbound_auto(portfwd::FwdTable& outbound) {
  const size_t before = outbound.rules.size();
  std::erase_if(outbound.rules, [](const portfwd::FwdRule& r) { return r.scan; });
  if (outbound.rules.empty()) outbound.caps = 0;
  return outbound.rules.size() != before;
}

Expected<std::vector<OutboundListener>, std::string> plan_outbound(const portfwd::FwdTable& table, bool ipv4,
                                                                   bool ipv6) {
  std::vector<OutboundListener> out;
  for (const auto& r : table.rules) {
    if (r.weak)
      return unexpected("-T/-U: netd forwards only named ports to the host, not best-effort ranges (" +
                        r.to_string() + "): give the ports");
    if (r.scan) continue;  // 'auto': the caller's business (none in netd)
    std::vector<net::IpAddr> listens;
    if (r.any_address || r.addr.is_unspecified()) {
      const bool v4 = r.any_address ? ipv4 : r.addr.is_v4() && ipv4;
      const bool v6 = r.any_address ? ipv6 : r.addr.is_v6() && ipv6;
      if (v4) listens.push_back(kLoopback4);
      if (v6) listens.push_back(kLoopback6);
    } else {
      if (!r.addr.is_loopback())
        return unexpected("-T/-U: netd listens only on the namespace's loopback, not " + r.addr.to_string());
      if ((r.addr.is_v4() && ipv4) || (r.addr.is_v6() && ipv6)) listens.push_back(r.addr);
    }
    for (const auto& listen : listens) {
      for (uint32_t p = r.first; p <= r.last; ++p) {
        OutboundListener l;
        l.proto = r.proto;
        l.listen = listen;
        l.port = static_cast<uint16_t>(p);
        l.target = r.has_target() ? r.target : (listen.is_v4() ? kLoopback4 : kLoopback6);
        l.target_port = r.target_port(l.port);
        if (l.target.is_v4() != l.listen.is_v4()) continue;  // a target of the other family: that listener only
        out.push_back(l);
        if (out.size() > kMaxOutboundListeners)
          return unexpected("-T/-U: more than " + std::to_string(kMaxOutboundListeners) +
                            " namespace ports to forward to the host; netd takes at most that many");
      }
    }
  }
  return out;
}

Expected<std::unique_ptr<PastaOutbound>, std::string> PastaOutbound::create(const std::vector<OutboundListener>& plan,
                                                                            const NsTarget& target) {
  // The host side is opened in our own namespace, so no helper is needed.
  portfwd::ForwarderOptions fo;
  fo.handle_signals = false;  // the data plane takes the stop signals
  fo.runs_on_another_thread = true;  // made now, before the sandbox; run by start()
  auto f = portfwd::Forwarder::create(std::make_shared<HostConnector>(), fo);
  if (!f) return unexpected("-T/-U forwarder: " + f.error());
  std::unique_ptr<PastaOutbound> out(new PastaOutbound(std::move(*f)));
  // run_in_netns hands back at most 16 fds: a child per chunk.
  constexpr size_t kChunk = 16;
  uint64_t id = 0;
  bool no_ipv6 = false;
  for (size_t at = 0; at < plan.size(); at += kChunk) {
    std::vector<OutboundListener> chunk;
    for (size_t i = at; i < plan.size() && i < at + kChunk; ++i)
      if (!(no_ipv6 && plan[i].listen.is_v6())) chunk.push_back(plan[i]);
    auto fds = run_in_netns(target, [&chunk]() -> NsChildResult {
      std::vector<int> made;  // one per bound listener, in order; none for a missing family
      for (const auto& l : chunk) {
        bool no_family = false;
        auto fd = bind_in_namespace(l, &no_family);
        if (!fd) {
          for (int m : made) ::close(m);
          return unexpected(fd.error());
        }
        if (no_family) continue;
        made.push_back(*fd);
      }
      return made;
    });
    if (!fds) return unexpected("-T/-U: " + fds.error());
    // Only IPv6 listeners are ever left out, and then all of them (no ::1).
    size_t v4_count = 0;
    for (const auto& l : chunk) v4_count += l.listen.is_v4();
    const bool have_v6 = fds->size() == chunk.size();
    if (!have_v6 && fds->size() != v4_count)
      return unexpected(std::string("-T/-U: the namespace helper returned an unexpected number of sockets"));
    if (!have_v6) {
      if (!no_ipv6) LOG_INFO("-T/-U: the namespace has no ::1; forwarding its IPv4 loopback only");
      no_ipv6 = true;
    }
    size_t next = 0;
    for (const auto& l : chunk) {
      if (!have_v6 && l.listen.is_v6()) continue;
      portfwd::Forward rule;
      rule.id = ++id;
      rule.proto = l.proto;
      rule.host_addr = l.listen;
      rule.host_port = l.port;
      rule.guest_addr = l.target;
      rule.guest_port = l.target_port;
      if (auto r = out->forwarder_->adopt(rule, std::move((*fds)[next++])); !r)
        return unexpected("-T/-U " + describe(l) + ": " + r.error());
    }
  }
  return out;
}

void PastaOutbound::start() {
  portfwd::Forwarder* f = forwarder_.get();
  thread_ = std::thread([f] {
    if (int rc = f->run(); rc != 0) LOG_ERROR("-T/-U forwarder stopped (status %d)", rc);
  });
}

PastaOutbound::~PastaOutbound() {
  if (thread_.joinable()) {
    forwarder_->request_stop();
    thread_.join();
  }
}

}  // namespace netd
