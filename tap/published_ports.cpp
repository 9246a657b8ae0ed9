#include "tap/published_ports.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "tap/host_sockets.h"
#include "tap/sockaddr.h"
#include "tap/tap_port.h"

namespace netd::tap {

PublishedPorts::PublishedPorts(loop::EventLoop& loop, Stack& stack, Actions& actions, HostSockets& sockets)
    : Handler(loop), stack_(stack), actions_(actions), sockets_(sockets) {}

// netd is ending, and a restarted container's new netd may want these ports
// now: but the ring's pending accepts hold the listeners until its teardown,
// tens of ms after the process is gone. shutdown() stops a listener at once,
// and a port whose socket (SO_REUSEADDR) no longer listens is free to bind.
PublishedPorts::~PublishedPorts() {
  for (const Listener& l : listeners_)
    if (l.live && !l.udp) ::shutdown(l.fd.get(), SHUT_RDWR);
}

void PublishedPorts::arm(uint32_t i) {
  const Listener& l = listeners_[i];
  if (l.udp) loop().poll_multishot(tag(Op::UdpReadable, i), l.fd.get(), POLLIN);
  else loop().accept_multishot(tag(Op::Accept, i), l.fd.get(), SOCK_CLOEXEC);
}

void PublishedPorts::publish(PublishedPort p) {
  Listener l;
  l.fd = std::move(p.socket);
  l.udp = p.udp;
  l.guest_port = p.guest_port;
  l.guest = p.guest;
  l.id = p.id;
  if (l.udp) {
    int fl = ::fcntl(l.fd.get(), F_GETFL);
    if (fl >= 0) ::fcntl(l.fd.get(), F_SETFL, fl | O_NONBLOCK);
  }
  listeners_.push_back(std::move(l));
  arm(static_cast<uint32_t>(listeners_.size() - 1));
}

bool PublishedPorts::unpublish(uint64_t id) {
  for (uint32_t i = 0; i < listeners_.size(); ++i) {
    Listener& l = listeners_[i];
    if (!l.live || l.id != id || id == 0) continue;
    l.live = false;
    l.backlog = false;
    loop().cancel_and_close(l.fd.release());
    if (l.udp) stack_.on_udp_listener_closed(i, actions_);
    return true;
  }
  return false;
}

std::string PublishedPorts::flows_json() const {
  // Keys in this order: clients parse it, and it always was.
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& [flow, f] : inbound_) {
    const Listener& l = listeners_[f.listener];
    out.push_back({{"id", l.id},
                   {"proto", l.udp ? "udp" : "tcp"},
                   {"client", to_string(f.client)},
                   {"guest_port", l.guest_port}});
  }
  return out.dump();
}

void PublishedPorts::on_completion(Time now, const loop::Completion& c) {
  if (static_cast<Op>(c.tag.op) == Op::Accept) return on_accept(now, c);
  on_udp_readable(c);
}

void PublishedPorts::on_accept(Time now, const loop::Completion& c) {
  const uint32_t i = c.tag.slot;
  if (i >= listeners_.size()) return;
  if (!listeners_[i].live) {
    if (c.res >= 0) ::close(c.res);  // accepted just before the removal
    return;
  }
  if (c.res >= 0) {
    UniqueFd conn(c.res);
    // Unknown peer: the guest sees the gateway (Stack::on_tcp_inbound).
    HostPeer client = peer_of(conn.get()).value_or(HostPeer{wire::IpAddr(wire::Ipv4Addr{0}), 0});
    const Listener& l = listeners_[i];
    auto flow = stack_.on_tcp_inbound(now, client.addr, client.port, l.guest_port, actions_, l.guest);
    if (!flow) {
      linger lg{1, 0};  // refused: the client gets a reset, not a half-open socket
      ::setsockopt(conn.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    } else {
      int one = 1;
      ::setsockopt(conn.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      sockets_.adopt(std::move(conn), *flow, SocketKind::Tcp);
      inbound_[*flow] = InboundFlow{i, client};
    }
  } else {
    uint64_t suppressed = 0;
    if (accept_error_log_.allow(now, &suppressed))
      LOG_WARN("accept on a published port failed: %s (%llu similar suppressed)", std::strerror(-c.res),
               static_cast<unsigned long long>(suppressed));
  }
  if (c.more) return;
  if (c.res == -EMFILE || c.res == -ENFILE || c.res == -ENOMEM || c.res == -ENOBUFS) {
    // Re-arming now would fail again at once: try again in a second.
    listeners_[i].paused = true;
    accept_retry_at_ = now + seconds(1);
    return;
  }
  arm(i);
}

void PublishedPorts::on_timer(Time now) {
  if (!accept_retry_at_ || now < *accept_retry_at_) return;
  accept_retry_at_.reset();
  for (uint32_t i = 0; i < listeners_.size(); ++i) {
    if (!listeners_[i].paused) continue;
    listeners_[i].paused = false;
    arm(i);
  }
}

void PublishedPorts::on_udp_readable(const loop::Completion& c) {
  const uint32_t i = c.tag.slot;
  if (i >= listeners_.size() || !listeners_[i].live) return;
  // Read once per loop round like the tap (drain()).
  if (c.res >= 0) listeners_[i].backlog = udp_backlog_ = true;
  if (!c.more) arm(i);
}

void PublishedPorts::drain(Time now) {
  udp_backlog_ = false;
  for (uint32_t i = 0; i < listeners_.size(); ++i) {
    if (listeners_[i].live && listeners_[i].backlog) drain_udp(now, i);
  }
}

// Reads datagrams from published UDP socket `i` until it is empty or a
// batch was handled; each goes to the guest through the UDP engine.
void PublishedPorts::drain_udp(Time now, uint32_t i) {
  listeners_[i].backlog = false;
  for (int n = 0; n < TapPort::kBatch; ++n) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    ssize_t r = ::recvfrom(listeners_[i].fd.get(), udp_buf_.data(), udp_buf_.size(), MSG_DONTWAIT,
                           reinterpret_cast<sockaddr*>(&ss), &len);
    if (r < 0) {
      if (errno != EAGAIN && errno != EINTR) ++stack_.counters().host_socket_errors;
      return;
    }
    auto peer = peer_from(ss);
    if (!peer) continue;
    const Listener& l = listeners_[i];
    auto data = std::span<const std::byte>(udp_buf_.data(), static_cast<size_t>(r));
    auto flow = stack_.on_udp_inbound(now, i, *peer, l.guest_port, data, actions_, l.guest);
    if (flow) inbound_.try_emplace(*flow, InboundFlow{i, *peer});
  }
  listeners_[i].backlog = true;
  udp_backlog_ = true;
}

void PublishedPorts::send_to_peer(Time now, const SendToPeer& o) {
  auto& c = stack_.counters();
  if (o.listener >= listeners_.size() || !listeners_[o.listener].live) {
    ++c.udp_published_drops;
    return;
  }
  SockAddr to = to_sockaddr(o.peer.addr, o.peer.port);
  // Plain non-blocking sendto, like the tap writes: a full socket buffer
  // drops the datagram (UDP may), it never stalls the loop.
  if (::sendto(listeners_[o.listener].fd.get(), o.data.data(), o.data.size(), MSG_DONTWAIT | MSG_NOSIGNAL, to.get(),
               to.len) < 0) {
    ++c.udp_published_drops;
    uint64_t suppressed = 0;
    if (send_error_log_.allow(now, &suppressed))
      LOG_DEBUG("reply to a published UDP client failed: %s (%llu similar suppressed)", std::strerror(errno),
                static_cast<unsigned long long>(suppressed));
  }
}

}  // namespace netd::tap
