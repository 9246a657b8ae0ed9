#include "tap/host_sockets.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "tap/tap_port.h"
#include "tap/udp_gso.h"

namespace netd::tap {

namespace {
// Receive buffers shared by every UDP and ping socket: a datagram occupies
// one only until the Stack has taken it.
constexpr uint32_t kRecvBuffers = 128;
constexpr uint32_t kRecvBufferSize = TapPort::kFrameMax;
}  // namespace

HostSockets::HostSockets(loop::EventLoop& loop, Stack& stack, Actions& actions,
                         std::optional<wire::IpAddr> outbound4, std::optional<wire::IpAddr> outbound6)
    : Handler(loop), stack_(stack), actions_(actions), outbound4_(outbound4), outbound6_(outbound6) {}

Expected<void, std::string> HostSockets::init() {
  auto pool = loop().make_buffer_pool(kRecvBuffers, kRecvBufferSize);
  if (!pool) return unexpected(pool.error());
  rx_ = std::move(*pool);
  return {};
}

void HostSockets::end_of_batch() { rx_->commit(); }

uint32_t HostSockets::add(UniqueFd fd, FlowId flow, SocketKind kind) {
  uint32_t i = slots_.take();
  Slot& s = slots_[i];
  s.fd = std::move(fd);
  s.flow = flow;
  s.kind = kind;
  s.live = true;
  slot_of_flow_[flow] = i;
  return i;
}

void HostSockets::adopt(UniqueFd fd, FlowId flow, SocketKind kind) { add(std::move(fd), flow, kind); }

HostSockets::Slot* HostSockets::slot_for(FlowId flow, uint32_t* index) {
  auto it = slot_of_flow_.find(flow);
  if (it == slot_of_flow_.end()) return nullptr;
  if (index) *index = it->second;
  return &slots_[it->second];
}

void HostSockets::arm_recv(uint32_t i) {
  loop().recv_multishot(tag(Op::DatagramRecv, i, slots_.generation(i)), slots_[i].fd.get(), *rx_);
}

// socket(2) for the host side of a guest flow. With --outbound-addr(6) it
// is bound to that source address first (port 0: any), as slirp4netns binds
// its sockets. Like socket(2): the fd, or -1 with errno set.
int HostSockets::open_flow_socket(int family, int type, int protocol) {
  int fd = ::socket(family, type, protocol);
  const std::optional<wire::IpAddr>& src = family == AF_INET ? outbound4_ : outbound6_;
  if (fd < 0 || !src) return fd;
  // TCP and UDP: the port is left to connect(), which can reuse one per
  // destination; a port taken at bind() would be held for all of them.
  int one = 1;
  if (protocol == 0) ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  SockAddr a = to_sockaddr(*src, 0);
  if (::bind(fd, a.get(), a.len) == 0) return fd;
  int e = errno;
  ::close(fd);
  errno = e;
  return -1;
}

// Says once why IPv6 to the outside fails on this host; the guest gets an
// ICMPv6 unreachable per attempt (the engines), the person one log line.
void HostSockets::note_socket_failure(const wire::IpAddr& dst, int err) {
  if (dst.is_v4() || ipv6_failure_logged_) return;
  if (err != EAFNOSUPPORT && err != ENETUNREACH && err != EADDRNOTAVAIL) return;
  ipv6_failure_logged_ = true;
  LOG_WARN("IPv6 from the namespace cannot leave this host: %s (%s); guests get ICMPv6 unreachable",
           std::strerror(err),
           err == EAFNOSUPPORT ? "IPv6 is disabled in this kernel"
                               : "no IPv6 route or address here: sysctl net.ipv6.conf.*.disable_ipv6?");
}

// Out of file descriptors: the guest's new flows are refused (TCP: RST,
// UDP: ICMP administratively prohibited, by the engines); say so, rarely.
void HostSockets::note_fd_exhaustion(Time now, int err) {
  if (err != EMFILE && err != ENFILE) return;
  uint64_t suppressed = 0;
  if (fd_exhaustion_log_.allow(now, &suppressed))
    LOG_WARN("out of file descriptors (%s): new connections from the guest are refused "
             "(%llu similar suppressed; raise RLIMIT_NOFILE)",
             std::strerror(err), static_cast<unsigned long long>(suppressed));
}

// ---- UDP and ping ----------------------------------------------------------

void HostSockets::open(Time now, const OpenSocket& o) {
  SockAddr sa = to_sockaddr(o.dst, o.port);
  int proto = 0;
  if (o.kind == SocketKind::Ping) proto = sa.family() == AF_INET ? int{IPPROTO_ICMP} : int{IPPROTO_ICMPV6};
  int fd = open_flow_socket(sa.family(), SOCK_DGRAM | SOCK_CLOEXEC, proto);
  if (fd < 0) {
    int e = errno;  // the notes below may log, which may change errno
    note_fd_exhaustion(now, e);
    note_socket_failure(o.dst, e);
    stack_.on_socket_error(now, o.kind, o.flow, e, actions_);
    return;
  }
  UniqueFd sock(fd);
  if (::connect(sock.get(), sa.get(), sa.len) != 0) {
    note_socket_failure(o.dst, errno);
    stack_.on_socket_error(now, o.kind, o.flow, errno, actions_);
    return;
  }
  arm_recv(add(std::move(sock), o.flow, o.kind));
}

void HostSockets::on_datagram(Time now, const loop::Completion& c) {
  std::span<const std::byte> data;
  if (c.buffer && c.res > 0) data = rx_->data(*c.buffer, static_cast<size_t>(c.res));
  Slot* s = slots_.find(c.tag.slot, c.tag.generation);
  if (s && s->live) {
    if (c.res >= 0) {
      stack_.on_socket_data(now, s->kind, s->flow, data, actions_);
    } else if (c.res != -ENOBUFS && c.res != -ECANCELED) {
      stack_.on_socket_error(now, s->kind, s->flow, -c.res, actions_);
    }
    // A multishot receive ends on errors and when buffers ran out. (Closing
    // the socket is an action, carried out after this batch.)
    if (!c.more) arm_recv(c.tag.slot);
  }
  if (c.buffer) rx_->recycle(*c.buffer);
}

void HostSockets::send_one(Time now, Slot& s, const SendOnSocket& o) {
  // A plain non-blocking send, like the tap writes: when the socket buffer
  // is full the datagram is dropped and counted (UDP may lose it).
  if (::send(s.fd.get(), o.data.data(), o.data.size(), MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) return;
  on_send_error(now, s, errno, 1);
}

void HostSockets::on_send_error(Time now, Slot& s, int err, size_t datagrams) {
  if (err == EAGAIN || err == ENOBUFS || err == EINTR) {
    stack_.counters().host_send_drops += datagrams;
    return;
  }
  // ECONNREFUSED and friends: an ICMP error the connected socket recorded.
  stack_.on_socket_error(now, s.kind, s.flow, err, actions_);
}

void HostSockets::send_datagrams(Time now, std::span<HostOp> run) {
  Slot* s = slot_for(std::get<SendOnSocket>(run[0]).flow);
  if (!s) return;  // the open failed; the engine was told
  size_t sizes[kMaxGsoSegments];
  std::span<const std::byte> data[kMaxGsoSegments];
  for (size_t i = 0; i < run.size();) {
    size_t n = 1;
    if (s->kind == SocketKind::Udp && s->segmenting && run.size() - i >= 2) {
      const size_t m = std::min(run.size() - i, kMaxGsoSegments);
      for (size_t k = 0; k < m; ++k) {
        data[k] = std::get<SendOnSocket>(run[i + k]).data;
        sizes[k] = data[k].size();
      }
      n = segment_run(std::span<const size_t>(sizes, m));
    }
    if (n < 2) {
      send_one(now, *s, std::get<SendOnSocket>(run[i]));
      ++i;
      continue;
    }
    int err = send_segmented(s->fd.get(), std::span<const std::span<const std::byte>>(data, n));
    if (err == 0) {
      ++stack_.counters().udp_segmented_sends;
      i += n;
    } else if (err == EINVAL || err == EIO || err == EMSGSIZE || err == ENOPROTOOPT) {
      s->segmenting = false;  // this path cannot segment (MTU, device): one send per datagram
    } else if (err == EAGAIN || err == ENOBUFS || err == EINTR) {
      on_send_error(now, *s, err, n);  // a full buffer drops the burst
      i += n;
    } else {
      // An error the socket recorded (an ICMP error: refused, unreachable)
      // is what the first datagram alone would have met: report it; the
      // rest go on as they would have.
      on_send_error(now, *s, err, 1);
      ++i;
    }
  }
}

void HostSockets::close(const CloseSocket& o) {
  auto it = slot_of_flow_.find(o.flow);
  if (it == slot_of_flow_.end()) return;
  const uint32_t i = it->second;
  slot_of_flow_.erase(it);
  Slot& s = slots_[i];
  if (s.kind == SocketKind::Tcp) {
    if (o.abort) {
      linger lg{1, 0};  // close() sends RST instead of FIN
      ::setsockopt(s.fd.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    loop().cancel_and_close(s.fd.release());
    s.live = false;
    if (s.inflight == 0) slots_.release(i);  // else when the last completion is reported
    return;
  }
  // Cancel the armed multishot receive; the kernel holds its own reference
  // to the file, so closing our fd right away is safe.
  loop().cancel(tag(Op::DatagramRecv, i, slots_.generation(i)));
  slots_.release(i);
}

void HostSockets::on_completion(Time now, const loop::Completion& c) {
  if (static_cast<Op>(c.tag.op) == Op::DatagramRecv) return on_datagram(now, c);
  on_tcp(now, c);
}

// ---- TCP -------------------------------------------------------------------

void HostSockets::connect(Time now, const TcpConnect& o) {
  SockAddr sa = to_sockaddr(o.dst, o.port);
  int fd = open_flow_socket(sa.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    int e = errno;  // the notes below may log, which may change errno
    note_socket_failure(o.dst, e);
    note_fd_exhaustion(now, e);
    if (e == EMFILE || e == ENFILE) ++stack_.counters().fd_exhausted;
    stack_.on_tcp_connected(now, o.flow, -e, actions_);
    return;
  }
  UniqueFd sock(fd);
  // Segments from the guest are already sized by its TCP: send them now.
  int one = 1;
  ::setsockopt(sock.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  uint32_t i = add(std::move(sock), o.flow, SocketKind::Tcp);
  Slot& s = slots_[i];
  // Tried at once, like sends and receives: to this host's own addresses
  // (the gateway mapped to loopback) the whole handshake runs inside the
  // call, so the guest's SYN-ACK can leave in this very round instead of a
  // loop round later. Otherwise the loop waits for writability.
  int err = ::connect(s.fd.get(), sa.get(), sa.len) == 0 ? 0 : errno;
  if (err == EINPROGRESS) {
    pollfd p{s.fd.get(), POLLOUT, 0};
    if (::poll(&p, 1, 0) != 1) {
      loop().poll(tag(Op::TcpConnect, i, slots_.generation(i)), s.fd.get(), POLLOUT);
      ++s.inflight;
      return;
    }
    err = connect_result(s, p.revents);
  }
  stack_.on_tcp_connected(now, o.flow, -err, actions_);
}

int HostSockets::connect_result(const Slot& s, int revents) {
  // Writable and nothing else: connected (the usual case; no system call).
  if (revents == POLLOUT) return 0;
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(s.fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

void HostSockets::poll(Time now, const TcpPoll& o) {
  uint32_t i;
  Slot* s = slot_for(o.flow, &i);
  if (!s) return stack_.on_tcp_readable(now, o.flow, -EBADF, actions_);
  loop().poll(tag(Op::TcpPoll, i, slots_.generation(i)), s->fd.get(), POLLIN);
  ++s->inflight;
}

void HostSockets::recv(Time now, const TcpRecv& o) {
  uint32_t i;
  Slot* s = slot_for(o.flow, &i);
  if (!s) return stack_.on_tcp_received(now, o.flow, -EBADF, actions_);
  // Tried at once after a readiness poll or a receive that filled its
  // buffer (a transfer streaming): the data is usually there, and a
  // completion through the loop would cost a round. "Nothing yet" is
  // reported as -EAGAIN: the engine then waits with a poll, which holds no
  // buffer (a receive armed on the loop would keep the connection's ring
  // chunk for as long as the peer is quiet, and the chunks are the TCP
  // memory budget). After a short receive the socket was drained: asking
  // again at once could only say EAGAIN (in request/response, every time),
  // so that is reported without the system call.
  if (!s->recv_now) return stack_.on_tcp_received(now, o.flow, -EAGAIN, actions_);
  ssize_t n = ::recv(s->fd.get(), o.into.data(), o.into.size(), MSG_DONTWAIT);
  if (n >= 0 || errno != EINTR) {
    s->recv_now = n == static_cast<ssize_t>(o.into.size());
    return stack_.on_tcp_received(now, o.flow, n >= 0 ? static_cast<int>(n) : -errno, actions_);
  }
  loop().recv(tag(Op::TcpRecv, i, slots_.generation(i)), s->fd.get(), o.into.data(), o.into.size(), 0);
  s->recv_len = o.into.size();
  ++s->inflight;
}

void HostSockets::send(Time now, const TcpSend& o) {
  uint32_t i;
  Slot* s = slot_for(o.flow, &i);
  if (!s) return stack_.on_tcp_sent(now, o.flow, -EBADF, actions_);
  // Tried at once, like receives: the socket's buffer usually has room, and
  // the bytes then reach the peer before this round's frames are written.
  // Only a full buffer waits on the loop. (The engine has one send in
  // flight per connection, so the two paths cannot reorder bytes.)
  ssize_t n = ::send(s->fd.get(), o.data.data(), o.data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n >= 0 || (errno != EAGAIN && errno != EINTR))
    return stack_.on_tcp_sent(now, o.flow, n >= 0 ? static_cast<int>(n) : -errno, actions_);
  loop().send(tag(Op::TcpSend, i, slots_.generation(i)), s->fd.get(), o.data.data(), o.data.size(), MSG_NOSIGNAL);
  ++s->inflight;
}

void HostSockets::shutdown(const TcpShutdown& o) {
  // Ordered after the last TcpSend's completion by the engine, so a plain
  // system call is enough here.
  if (Slot* s = slot_for(o.flow)) ::shutdown(s->fd.get(), SHUT_WR);
}

void HostSockets::on_tcp(Time now, const loop::Completion& c) {
  Slot* s = slots_.find(c.tag.slot, c.tag.generation);
  if (!s || s->kind != SocketKind::Tcp) return;
  // Reported even for a closed socket: the engine frees a connection's
  // buffers only once every operation pointing into them came back.
  --s->inflight;
  const FlowId flow = s->flow;
  switch (static_cast<Op>(c.tag.op)) {
    case Op::TcpConnect:
      // Writable (or failed): the handshake's outcome is the socket's error.
      stack_.on_tcp_connected(now, flow, c.res < 0 ? c.res : (s->live ? -connect_result(*s, c.res) : -EBADF), actions_);
      break;
    case Op::TcpPoll:
      s->recv_now = true;
      stack_.on_tcp_readable(now, flow, c.res < 0 ? c.res : 0, actions_);
      break;
    case Op::TcpRecv:
      s->recv_now = c.res > 0 && static_cast<size_t>(c.res) == s->recv_len;
      stack_.on_tcp_received(now, flow, c.res, actions_);
      break;
    case Op::TcpSend: stack_.on_tcp_sent(now, flow, c.res, actions_); break;
    case Op::DatagramRecv: break;
  }
  // The table is a deque: `s` survived whatever the handlers above added.
  if (!s->live && s->inflight == 0) slots_.release(c.tag.slot);
}

}  // namespace netd::tap
