#include "tap/dataplane.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sys/uio.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <unordered_map>

#include "common/log.h"
#include "common/uring.h"
#include "tap/pcap_writer.h"
#include "tap/udp_gso.h"
#include "tap/vnet_header.h"

namespace netd::tap {

namespace {

using uring::Op;
using uring::Tag;

constexpr unsigned kRingEntries = 1024;
constexpr uint16_t kSocketGroup = 1;
constexpr uint32_t kSocketBuffers = 128;
// One maximal IP packet plus Ethernet and virtio-net headers, rounded up.
constexpr uint32_t kBufferSize = 65536 + 256;
constexpr size_t kVnetHdrLen = sizeof(VnetHeader);
// Frames read per readiness notification before other completions get a turn.
constexpr int kTapBatch = 64;
// Completions handled per loop round (see run()).
constexpr unsigned kCompletionBatch = 256;
// Bounded work per wake-up when actions trigger more actions synchronously.
constexpr int kMaxActionRounds = 8;

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// A socket address for `a`:port in a's family, and its length.
struct SockAddr {
  sockaddr_storage ss{};
  socklen_t len = 0;
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&ss); }
  int family() const { return ss.ss_family; }
};
SockAddr to_sockaddr(const wire::IpAddr& a, uint16_t port) {
  SockAddr s;
  if (a.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&s.ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    sin->sin_addr.s_addr = htonl(a.v4().v);
    s.len = sizeof(sockaddr_in);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&s.ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    std::memcpy(sin6->sin6_addr.s6_addr, a.b.data(), 16);
    s.len = sizeof(sockaddr_in6);
  }
  return s;
}

// A socket address as netd's address type (a v4-mapped IPv6 address is
// IPv4 already), or nullopt for another family.
std::optional<HostPeer> peer_from(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&ss);
    return HostPeer{wire::IpAddr(wire::Ipv4Addr{ntohl(sin->sin_addr.s_addr)}), ntohs(sin->sin_port)};
  }
  if (ss.ss_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    wire::Ipv6Addr a;
    std::memcpy(a.b.data(), sin6->sin6_addr.s6_addr, 16);
    return HostPeer{wire::IpAddr(a), ntohs(sin6->sin6_port)};
  }
  return std::nullopt;
}

// The peer of an accepted socket, or nullopt.
std::optional<HostPeer> peer_of(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return std::nullopt;
  return peer_from(ss);
}

// "ADDR:PORT" ("[ADDR]:PORT" for IPv6), for the flow list.
std::string to_string(const HostPeer& p) {
  return p.addr.is_v6() ? "[" + p.addr.to_string() + "]:" + std::to_string(p.port)
                        : p.addr.to_string() + ":" + std::to_string(p.port);
}

}  // namespace

struct Dataplane::Impl final : dns::SocketWatcher {
  struct SocketSlot {
    UniqueFd fd;
    FlowId flow = 0;
    SocketKind kind = SocketKind::Udp;
    uint16_t generation = 0;
    bool live = false;
    // TCP: operations point into engine buffers, so a closed TCP slot lives
    // on (closing) until every submitted operation has completed and been
    // reported; only then is it reused.
    bool closing = false;
    int inflight = 0;
    SockAddr peer;  // connect() reads it at submit time (see `sockets`)
    bool segmenting = true;  // UDP: bursts may go out with UDP_SEGMENT
    // TCP: the next receive is tried at once (see apply(TcpRecv)); false
    // after a receive came back short, i.e. the socket was drained.
    bool recv_now = true;
    size_t recv_len = 0;  // bytes asked of the receive on the ring
  };
  // A published port: its host socket and where its traffic goes. Slots are
  // never reused (ports are added rarely), so a completion for a removed
  // one finds it not live.
  struct Listener {
    UniqueFd fd;
    bool udp = false;
    uint16_t guest_port = 0;
    std::optional<wire::Ipv4Addr> guest;
    uint64_t id = 0;
    bool live = true;
    bool paused = false;   // TCP out of fds: re-armed by the timer, not at once
    bool backlog = false;  // UDP: datagrams may wait (poll fired, or the last drain hit the batch limit)
  };
  // A flow that came in through a published port (for list_flows).
  struct InboundFlow {
    uint32_t listener = 0;
    HostPeer client;
  };
  struct PollState {
    bool read = false, write = false;  // what c-ares wants
    bool armed = false;
    uint16_t generation = 0;
  };

  DataplaneOptions opts;
  std::unique_ptr<uring::Ring> ring;
  std::unique_ptr<uring::BufferRing> sock_rx;
  std::vector<std::byte> tap_buf = std::vector<std::byte>(kBufferSize);
  // The tap has frames to read: its poll fired, or the last drain stopped at
  // kTapBatch. Read once per loop round (run()), never per poll completion:
  // a flood posts a readiness completion per frame, and draining kTapBatch
  // frames for each of a round's completions held tens of thousands of
  // datagrams (megabytes) in one round's actions.
  bool tap_backlog = false;
  UniqueFd tap;
  Stack stack;
  Actions actions;
  // A deque, not a vector: a slot's address must not move while the kernel may
  // still read from it (TcpConnect passes &slot.peer to io_uring, and the SQE
  // is only submitted after later actions of the same batch added slots).
  std::deque<SocketSlot> sockets;
  std::vector<uint32_t> free_sockets;
  std::unordered_map<FlowId, uint32_t> slot_of_flow;
  std::unique_ptr<dns::Forwarder> forwarder;
  std::unordered_map<int, PollState> polls;
  std::vector<Listener> listeners;
  std::unordered_map<FlowId, InboundFlow> inbound;
  std::vector<std::byte> udp_buf = std::vector<std::byte>(65536);
  bool udp_backlog = false;  // some published UDP socket may have more datagrams
  int control_fd = -1;
  std::function<void()> control_drain;
  log::RateLimit accept_error_log{seconds(10), 3};
  std::optional<Time> accept_retry_at;
  UniqueFd signal_fd;
  signalfd_siginfo siginfo{};
  UniqueFd pid_fd;
  // The netns path: an inotify watch on its directory (set up before the
  // sandbox; it keeps working once netd's root is empty, which a periodic
  // stat of the path would not).
  UniqueFd path_watch;
  std::string watched_name;
  alignas(inotify_event) std::byte path_events[4096];
  std::optional<PcapWriter> pcap;
  log::RateLimit write_error_log{seconds(10), 3};
  log::RateLimit fd_exhaustion_log{seconds(10), 1};
  bool running = true;
  int exit_status = 0;

  explicit Impl(DataplaneOptions o) : opts(std::move(o)), stack(with_offload(opts)) {}
  static StackConfig with_offload(const DataplaneOptions& o) {
    StackConfig c = o.stack;
    c.tap_offload = o.vnet_hdr;
    return c;
  }
  // The forwarder's destructor fails its pending queries (into stack/actions)
  // and tells watch() to forget its sockets (polls, ring): it must go first.
  ~Impl() override { forwarder.reset(); }

  // ---- set-up -------------------------------------------------------------
  Expected<void, std::string> init(UniqueFd tap_fd) {
    tap = std::move(tap_fd);
    // The tap is read and written with plain non-blocking system calls,
    // driven by a multishot poll on the ring: tun files do not support
    // io_uring's non-blocking attempts, so ring reads and writes on them are
    // handed to kernel worker threads, which costs a thread wake-up (tens of
    // microseconds) per frame. Sockets stay on the ring.
    int fl = ::fcntl(tap.get(), F_GETFL);
    if (fl >= 0) ::fcntl(tap.get(), F_SETFL, fl | O_NONBLOCK);

    // Every translated connection is a socket: use the whole hard limit.
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
      rl.rlim_cur = rl.rlim_max;
      ::setrlimit(RLIMIT_NOFILE, &rl);
    }

    auto r = uring::Ring::create(kRingEntries);
    if (!r) return unexpected(r.error());
    ring = std::move(*r);
    auto s = ring->make_buffer_ring(kSocketGroup, kSocketBuffers, kBufferSize);
    if (!s) return unexpected(s.error());
    sock_rx = std::move(*s);

    sigset_t mask;
    sigemptyset(&mask);
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) sigaddset(&mask, sig);
    ::pthread_sigmask(SIG_BLOCK, &mask, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    signal_fd.reset(::signalfd(-1, &mask, SFD_CLOEXEC));
    if (!signal_fd) return unexpected(std::string("signalfd: ") + std::strerror(errno));

    if (opts.watch_pid) {
      pid_fd.reset(pidfd_open(*opts.watch_pid));
      if (!pid_fd) {
        return unexpected("cannot watch pid " + std::to_string(*opts.watch_pid) + ": " +
                          std::strerror(errno));
      }
    }
    if (!opts.watch_path.empty()) {
      auto w = watch_path(opts.watch_path);
      if (!w) return unexpected(w.error());
    }

    if (!opts.pcap_path.empty()) {
      auto p = PcapWriter::open(opts.pcap_path, kBufferSize);
      if (!p) return unexpected(p.error());
      pcap.emplace(std::move(*p));
    }

    if (opts.dns_upstreams.empty()) {
      LOG_WARN("no DNS upstream servers: queries to %s will be answered with SERVFAIL",
               opts.stack.dns.to_string().c_str());
    } else {
      dns::Forwarder::Options fo;
      fo.servers = opts.dns_upstreams;
      if (opts.outbound4) fo.source4 = opts.outbound4->to_string();
      if (opts.outbound6) fo.source6 = opts.outbound6->to_string();
      auto f = dns::Forwarder::create(fo, *this);
      if (!f) return unexpected("DNS forwarder: " + f.error());
      forwarder = std::move(*f);
    }

    arm_tap_poll();
    arm_signal_read();
    if (pid_fd) {
      io_uring_prep_poll_add(ring->sqe({Op::PidExit, 0, 0}), pid_fd.get(), POLLIN);
    }
    if (path_watch) arm_path_read();
    return {};
  }

  // Watches the directory of `path` for the path's removal or rename (that
  // is how `ip netns delete` and podman drop a netns file: unmount, unlink).
  Expected<void, std::string> watch_path(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return unexpected("cannot stat " + path + ": " + std::strerror(errno));
    auto slash = path.find_last_of('/');
    std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    watched_name = slash == std::string::npos ? path : path.substr(slash + 1);
    path_watch.reset(::inotify_init1(IN_CLOEXEC));
    if (!path_watch) return unexpected(std::string("inotify: ") + std::strerror(errno));
    if (::inotify_add_watch(path_watch.get(), dir.c_str(),
                            IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT | IN_ONLYDIR) < 0)
      return unexpected("cannot watch " + dir + " (for " + path + "): " + std::strerror(errno));
    return {};
  }
  void arm_path_read() {
    io_uring_prep_read(ring->sqe({Op::PathEvent, 0, 0}), path_watch.get(), path_events, sizeof path_events,
                       static_cast<uint64_t>(-1));
  }
  // True when the events in path_events[0, len) say the watched path is gone.
  bool path_gone(size_t len) const {
    for (size_t off = 0; off + sizeof(inotify_event) <= len;) {
      inotify_event ev;
      std::memcpy(&ev, path_events + off, sizeof ev);
      if (ev.mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT | IN_IGNORED)) return true;
      if (ev.len > 0 && off + sizeof ev + ev.len <= len) {
        const char* name = reinterpret_cast<const char*>(path_events + off + sizeof ev);
        if (watched_name == std::string_view(name, ::strnlen(name, ev.len))) return true;
      }
      off += sizeof ev + ev.len;
    }
    return false;
  }
  void on_path_event(const io_uring_cqe& cqe) {
    if (cqe.res > 0 && path_gone(static_cast<size_t>(cqe.res))) {
      LOG_INFO("%s is gone; stopping", opts.watch_path.c_str());
      running = false;
      return;
    }
    if (cqe.res < 0 && cqe.res != -EAGAIN && cqe.res != -EINTR) {
      LOG_WARN("watching %s failed: %s; its removal will not stop netd", opts.watch_path.c_str(),
               std::strerror(-cqe.res));
      return;
    }
    arm_path_read();
  }

  // ---- arming ---------------------------------------------------------------
  void arm_tap_poll() { io_uring_prep_poll_multishot(ring->sqe({Op::TapReadable, 0, 0}), tap.get(), POLLIN); }
  void arm_accept(uint32_t i) {
    io_uring_prep_multishot_accept(ring->sqe({Op::Accept, 0, i}), listeners[i].fd.get(), nullptr, nullptr,
                                   SOCK_CLOEXEC);
  }

  void arm_udp_poll(uint32_t i) {
    io_uring_prep_poll_multishot(ring->sqe({Op::UdpPublished, 0, i}), listeners[i].fd.get(), POLLIN);
  }

  void publish(PublishedPort p) {
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
    listeners.push_back(std::move(l));
    auto i = static_cast<uint32_t>(listeners.size() - 1);
    if (listeners[i].udp) arm_udp_poll(i);
    else arm_accept(i);
  }

  bool unpublish(uint64_t id) {
    for (uint32_t i = 0; i < listeners.size(); ++i) {
      Listener& l = listeners[i];
      if (!l.live || l.id != id || id == 0) continue;
      l.live = false;
      l.backlog = false;
      cancel_and_close(l.fd.release());
      if (l.udp) stack.on_udp_listener_closed(i, actions);
      return true;
    }
    return false;
  }

  std::string published_flows_json() const {
    std::string out = "[";
    for (const auto& [flow, f] : inbound) {
      const Listener& l = listeners[f.listener];
      if (out.size() > 1) out += ",";
      out += "{\"id\":" + std::to_string(l.id) + ",\"proto\":\"" + (l.udp ? "udp" : "tcp") +
             "\",\"client\":\"" + to_string(f.client) + "\",\"guest_port\":" + std::to_string(l.guest_port) + "}";
    }
    return out + "]";
  }

  void watch_control(int fd, std::function<void()> drain) {
    control_fd = fd;
    control_drain = std::move(drain);
    arm_control_poll();
  }
  void arm_control_poll() { io_uring_prep_poll_multishot(ring->sqe({Op::Control, 0, 0}), control_fd, POLLIN); }
  void on_control(const io_uring_cqe& cqe) {
    if (cqe.res >= 0 && control_drain) control_drain();
    if (!(cqe.flags & IORING_CQE_F_MORE)) arm_control_poll();
  }

  // Cancels every request on `fd`, then closes it, in this order (a hard
  // link runs the close even when there was nothing to cancel). The ring
  // keeps the file alive until the cancelled requests finish.
  void cancel_and_close(int fd) {
    io_uring_sqe* c = ring->sqe({Op::Cancel, 0, 0});
    io_uring_prep_cancel_fd(c, fd, IORING_ASYNC_CANCEL_ALL);
    c->flags |= IOSQE_IO_HARDLINK;
    io_uring_prep_close(ring->sqe({Op::Cancel, 0, 0}), fd);
  }

  void on_accept(Time now, Tag tag, const io_uring_cqe& cqe) {
    if (tag.slot >= listeners.size()) return;
    if (!listeners[tag.slot].live) {
      if (cqe.res >= 0) ::close(cqe.res);  // accepted just before the removal
      return;
    }
    if (cqe.res >= 0) {
      UniqueFd conn(cqe.res);
      // Unknown peer: the guest sees the gateway (Stack::on_tcp_inbound).
      HostPeer client = peer_of(conn.get()).value_or(HostPeer{wire::IpAddr(wire::Ipv4Addr{0}), 0});
      const Listener& l = listeners[tag.slot];
      auto flow = stack.on_tcp_inbound(now, client.addr, client.port, l.guest_port, actions, l.guest);
      if (!flow) {
        linger lg{1, 0};  // refused: the client gets a reset, not a half-open socket
        ::setsockopt(conn.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      } else {
        int one = 1;
        ::setsockopt(conn.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        add_socket(std::move(conn), *flow, SocketKind::Tcp);
        inbound[*flow] = InboundFlow{tag.slot, client};
      }
    } else {
      uint64_t suppressed = 0;
      if (accept_error_log.allow(now, &suppressed))
        LOG_WARN("accept on a published port failed: %s (%llu similar suppressed)", std::strerror(-cqe.res),
                 static_cast<unsigned long long>(suppressed));
    }
    if (cqe.flags & IORING_CQE_F_MORE) return;
    if (cqe.res == -EMFILE || cqe.res == -ENFILE || cqe.res == -ENOMEM || cqe.res == -ENOBUFS) {
      // Re-arming now would fail again at once: try again in a second.
      listeners[tag.slot].paused = true;
      accept_retry_at = now + seconds(1);
      return;
    }
    arm_accept(tag.slot);
  }

  void on_udp_readable(Tag tag, const io_uring_cqe& cqe) {
    if (tag.slot >= listeners.size() || !listeners[tag.slot].live) return;
    // Read once per loop round like the tap (drain_udp_backlog in run()).
    if (cqe.res >= 0) listeners[tag.slot].backlog = udp_backlog = true;
    if (!(cqe.flags & IORING_CQE_F_MORE)) arm_udp_poll(tag.slot);
  }

  // Reads datagrams from published UDP socket `i` until it is empty or
  // kTapBatch were handled; each goes to the guest through the UDP engine.
  void drain_udp(Time now, uint32_t i) {
    listeners[i].backlog = false;
    for (int n = 0; n < kTapBatch; ++n) {
      sockaddr_storage ss{};
      socklen_t len = sizeof ss;
      ssize_t r = ::recvfrom(listeners[i].fd.get(), udp_buf.data(), udp_buf.size(), MSG_DONTWAIT,
                             reinterpret_cast<sockaddr*>(&ss), &len);
      if (r < 0) {
        if (errno != EAGAIN && errno != EINTR) ++stack_counters().host_socket_errors;
        return;
      }
      auto peer = peer_from(ss);
      if (!peer) continue;
      const Listener& l = listeners[i];
      auto flow = stack.on_udp_inbound(now, i, *peer, l.guest_port,
                                       std::span<const std::byte>(udp_buf.data(), static_cast<size_t>(r)), actions,
                                       l.guest);
      if (flow) inbound.try_emplace(*flow, InboundFlow{i, *peer});
    }
    listeners[i].backlog = true;
    udp_backlog = true;
  }

  void drain_udp_backlog(Time now) {
    udp_backlog = false;
    for (uint32_t i = 0; i < listeners.size(); ++i) {
      if (listeners[i].live && listeners[i].backlog) drain_udp(now, i);
    }
  }

  void arm_signal_read() {
    io_uring_prep_read(ring->sqe({Op::SignalRead, 0, 0}), signal_fd.get(), &siginfo, sizeof siginfo,
                       static_cast<uint64_t>(-1));
  }
  void arm_socket_recv(uint32_t slot) {
    SocketSlot& s = sockets[slot];
    io_uring_sqe* e = ring->sqe({Op::SocketRecv, s.generation, slot});
    io_uring_prep_recv_multishot(e, s.fd.get(), nullptr, 0, 0);
    e->flags |= IOSQE_BUFFER_SELECT;
    e->buf_group = kSocketGroup;
  }
  void arm_poll(int fd, PollState& p) {
    unsigned mask = (p.read ? POLLIN : 0) | (p.write ? POLLOUT : 0);
    io_uring_prep_poll_add(ring->sqe({Op::PollFd, p.generation, static_cast<uint32_t>(fd)}), fd, mask);
    p.armed = true;
  }

  // dns::SocketWatcher: c-ares tells us which of its sockets to watch.
  void watch(int fd, bool readable, bool writable) override {
    PollState& p = polls[fd];
    if (p.armed) {
      // Replace the armed poll: remove it and re-arm under a new generation,
      // so the removed one's completion is recognised as stale.
      io_uring_prep_poll_remove(ring->sqe({Op::Cancel, 0, 0}),
                                uring::encode({Op::PollFd, p.generation, static_cast<uint32_t>(fd)}));
      p.armed = false;
    }
    ++p.generation;
    p.read = readable;
    p.write = writable;
    if (!readable && !writable) {
      polls.erase(fd);
      return;
    }
    arm_poll(fd, p);
  }

  // ---- buffers that outlive a submission ----------------------------------
  // Index of a free entry of `table` (reusing one from `free_list` first).
  template <class Table>
  static uint32_t take_slot(Table& table, std::vector<uint32_t>& free_list) {
    if (!free_list.empty()) {
      uint32_t i = free_list.back();
      free_list.pop_back();
      return i;
    }
    table.emplace_back();
    return static_cast<uint32_t>(table.size() - 1);
  }

  // ---- actions -> submissions ---------------------------------------------
  void apply_actions(Time now) {
    for (int round = 0; round < kMaxActionRounds && (!actions.to_tap.empty() || !actions.to_host.empty());
         ++round) {
      Actions batch;
      std::swap(batch, actions);  // handlers below may append new actions
      auto& ops = batch.to_host;
      for (size_t i = 0; i < ops.size();) {
        // A burst of one flow's datagrams leaves in as few sends as possible.
        if (auto* d = std::get_if<SendOnSocket>(&ops[i])) {
          size_t j = i + 1;
          while (j < ops.size() && std::holds_alternative<SendOnSocket>(ops[j]) &&
                 std::get<SendOnSocket>(ops[j]).flow == d->flow)
            ++j;
          send_datagrams(now, std::span<HostOp>(ops).subspan(i, j - i));
          i = j;
          continue;
        }
        std::visit([&](auto& o) { apply(now, o); }, ops[i]);
        ++i;
      }
      for (const auto& frame : batch.to_tap) write_to_tap(now, frame);
    }
  }

  void write_to_tap(Time now, const Frame& frame) {
    if (pcap) pcap->write(frame.tail.empty() ? std::span<const std::byte>(frame) : frame.flat());
    auto& c = stack_counters();
    ++c.frames_out;
    c.bytes_out += frame.wire_size();
    // virtio-net header (native byte order, as tun uses without
    // TUNSETVNETLE/BE), the frame's own bytes, and its payload from where
    // the engine keeps it (Frame::tail): one writev, no copy.
    VnetHeader h{};
    iovec iov[3];
    int n_iov = 0;
    if (opts.vnet_hdr) {
      const TapOffload& off = frame.offload;
      if (off.csum_partial) {
        h.flags = kVnetNeedsCsum;
        h.csum_start = off.csum_start;
        h.csum_offset = off.csum_offset;
      }
      if (off.gso_size) {
        h.gso_type = off.gso_v6 ? kVnetGsoTcpv6 : kVnetGsoTcpv4;
        h.gso_size = off.gso_size;
        h.hdr_len = off.hdr_len;
      }
      iov[n_iov++] = {&h, kVnetHdrLen};
    }
    iov[n_iov++] = {const_cast<std::byte*>(frame.data()), frame.size()};
    if (!frame.tail.empty()) iov[n_iov++] = {const_cast<std::byte*>(frame.tail.data()), frame.tail.size()};
    if (::writev(tap.get(), iov, n_iov) < 0) {
      ++c.tap_write_errors;
      uint64_t suppressed = 0;
      if (write_error_log.allow(now, &suppressed))
        LOG_WARN("tap write failed: %s (%llu similar suppressed)", std::strerror(errno),
                 static_cast<unsigned long long>(suppressed));
    }
  }

  Counters& stack_counters() { return stack.counters(); }

  // Says once why IPv6 to the outside fails on this host; the guest gets an
  // ICMPv6 unreachable per attempt (the engines), the person one log line.
  bool ipv6_failure_logged = false;
  void note_socket_failure(const wire::IpAddr& dst, int err) {
    if (dst.is_v4() || ipv6_failure_logged) return;
    if (err != EAFNOSUPPORT && err != ENETUNREACH && err != EADDRNOTAVAIL) return;
    ipv6_failure_logged = true;
    LOG_WARN("IPv6 from the namespace cannot leave this host: %s (%s); guests get ICMPv6 unreachable",
             std::strerror(err),
             err == EAFNOSUPPORT ? "IPv6 is disabled in this kernel"
                                 : "no IPv6 route or address here: sysctl net.ipv6.conf.*.disable_ipv6?");
  }

  // Out of file descriptors: the guest's new flows are refused (TCP: RST,
  // UDP: ICMP administratively prohibited, by the engines); say so, rarely.
  void note_fd_exhaustion(Time now, int err) {
    if (err != EMFILE && err != ENFILE) return;
    uint64_t suppressed = 0;
    if (fd_exhaustion_log.allow(now, &suppressed))
      LOG_WARN("out of file descriptors (%s): new connections from the guest are refused "
               "(%llu similar suppressed; raise RLIMIT_NOFILE)",
               std::strerror(err), static_cast<unsigned long long>(suppressed));
  }

  // socket(2) for the host side of a guest flow. With --outbound-addr(6)
  // it is bound to that source address first (port 0: any), as slirp4netns
  // binds its sockets. Like socket(2): the fd, or -1 with errno set.
  int open_flow_socket(int family, int type, int protocol) {
    int fd = ::socket(family, type, protocol);
    const std::optional<wire::IpAddr>& src = family == AF_INET ? opts.outbound4 : opts.outbound6;
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

  void apply(Time now, OpenSocket& o) {
    SockAddr sa = to_sockaddr(o.dst, o.port);
    int proto = 0;
    if (o.kind == SocketKind::Ping) proto = sa.family() == AF_INET ? int{IPPROTO_ICMP} : int{IPPROTO_ICMPV6};
    int fd = open_flow_socket(sa.family(), SOCK_DGRAM | SOCK_CLOEXEC, proto);
    if (fd < 0) {
      int e = errno;  // the notes below may log, which may change errno
      note_fd_exhaustion(now, e);
      note_socket_failure(o.dst, e);
      stack.on_socket_error(now, o.kind, o.flow, e, actions);
      return;
    }
    UniqueFd sock(fd);
    if (::connect(sock.get(), sa.get(), sa.len) != 0) {
      note_socket_failure(o.dst, errno);
      stack.on_socket_error(now, o.kind, o.flow, errno, actions);
      return;
    }
    uint32_t slot = add_socket(std::move(sock), o.flow, o.kind);
    arm_socket_recv(slot);
  }

  uint32_t add_socket(UniqueFd fd, FlowId flow, SocketKind kind) {
    uint32_t slot = take_slot(sockets, free_sockets);
    SocketSlot& s = sockets[slot];
    s.fd = std::move(fd);
    s.flow = flow;
    s.kind = kind;
    s.live = true;
    s.closing = false;
    s.inflight = 0;
    s.segmenting = true;
    s.recv_now = true;
    slot_of_flow[flow] = slot;
    return slot;
  }

  // The live slot of a flow, or nullptr.
  SocketSlot* slot_for(FlowId flow, uint32_t* index = nullptr) {
    auto it = slot_of_flow.find(flow);
    if (it == slot_of_flow.end()) return nullptr;
    if (index) *index = it->second;
    return &sockets[it->second];
  }

  // ---- TCP ----------------------------------------------------------------
  void apply(Time now, TcpConnect& o) {
    SockAddr sa = to_sockaddr(o.dst, o.port);
    int fd = open_flow_socket(sa.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      int e = errno;  // the notes below may log, which may change errno
      note_socket_failure(o.dst, e);
      note_fd_exhaustion(now, e);
      if (e == EMFILE || e == ENFILE) ++stack_counters().fd_exhausted;
      stack.on_tcp_connected(now, o.flow, -e, actions);
      return;
    }
    UniqueFd sock(fd);
    // Segments from the guest are already sized by its TCP: send them now.
    int one = 1;
    ::setsockopt(sock.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    uint32_t slot = add_socket(std::move(sock), o.flow, SocketKind::Tcp);
    SocketSlot& s = sockets[slot];
    s.peer = sa;
    io_uring_prep_connect(ring->sqe({Op::TcpConnect, s.generation, slot}), s.fd.get(), s.peer.get(), s.peer.len);
    ++s.inflight;
  }

  void apply(Time now, TcpPoll& o) {
    uint32_t slot;
    SocketSlot* s = slot_for(o.flow, &slot);
    if (!s) return stack.on_tcp_readable(now, o.flow, -EBADF, actions);
    io_uring_prep_poll_add(ring->sqe({Op::TcpPoll, s->generation, slot}), s->fd.get(), POLLIN);
    ++s->inflight;
  }

  void apply(Time now, TcpRecv& o) {
    uint32_t slot;
    SocketSlot* s = slot_for(o.flow, &slot);
    if (!s) return stack.on_tcp_received(now, o.flow, -EBADF, actions);
    // Tried at once after a readiness poll or a receive that filled its
    // buffer (a transfer streaming): the data is usually there, and a
    // completion through the ring would cost a loop round. "Nothing yet" is
    // reported as -EAGAIN: the engine then waits with a poll, which holds no
    // buffer (a receive armed on the ring would keep the connection's ring
    // chunk for as long as the peer is quiet, and the chunks are the TCP
    // memory budget). After a short receive the socket was drained: asking
    // again at once could only say EAGAIN (in request/response, every
    // time), so that is reported without the system call.
    if (!s->recv_now) return stack.on_tcp_received(now, o.flow, -EAGAIN, actions);
    ssize_t n = ::recv(s->fd.get(), o.into.data(), o.into.size(), MSG_DONTWAIT);
    if (n >= 0 || errno != EINTR) {
      s->recv_now = n == static_cast<ssize_t>(o.into.size());
      return stack.on_tcp_received(now, o.flow, n >= 0 ? static_cast<int>(n) : -errno, actions);
    }
    io_uring_prep_recv(ring->sqe({Op::TcpRecv, s->generation, slot}), s->fd.get(), o.into.data(),
                       o.into.size(), 0);
    s->recv_len = o.into.size();
    ++s->inflight;
  }

  void apply(Time now, TcpSend& o) {
    uint32_t slot;
    SocketSlot* s = slot_for(o.flow, &slot);
    if (!s) return stack.on_tcp_sent(now, o.flow, -EBADF, actions);
    // Tried at once, like receives: the socket's buffer usually has room,
    // and the bytes then reach the peer before this round's frames are
    // written, without a ring submission and completion. Only a full
    // buffer waits on the ring. (The engine has one send in flight per
    // connection, so the two paths cannot reorder bytes.)
    ssize_t n = ::send(s->fd.get(), o.data.data(), o.data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0 || (errno != EAGAIN && errno != EINTR))
      return stack.on_tcp_sent(now, o.flow, n >= 0 ? static_cast<int>(n) : -errno, actions);
    io_uring_prep_send(ring->sqe({Op::TcpSend, s->generation, slot}), s->fd.get(), o.data.data(),
                       o.data.size(), MSG_NOSIGNAL);
    ++s->inflight;
  }

  void apply(Time, TcpShutdown& o) {
    // Ordered after the last TcpSend's completion by the engine, so a plain
    // system call is enough here.
    if (SocketSlot* s = slot_for(o.flow)) ::shutdown(s->fd.get(), SHUT_WR);
  }

  void on_tcp_completion(Time now, Tag tag, const io_uring_cqe& cqe) {
    if (tag.slot >= sockets.size()) return;
    SocketSlot& s = sockets[tag.slot];
    if (s.kind != SocketKind::Tcp || s.generation != tag.generation) return;
    --s.inflight;
    FlowId flow = s.flow;
    switch (tag.op) {
      case Op::TcpConnect: stack.on_tcp_connected(now, flow, cqe.res < 0 ? cqe.res : 0, actions); break;
      case Op::TcpPoll:
        s.recv_now = true;
        stack.on_tcp_readable(now, flow, cqe.res < 0 ? cqe.res : 0, actions);
        break;
      case Op::TcpRecv:
        s.recv_now = cqe.res > 0 && static_cast<size_t>(cqe.res) == s.recv_len;
        stack.on_tcp_received(now, flow, cqe.res, actions);
        break;
      case Op::TcpSend: stack.on_tcp_sent(now, flow, cqe.res, actions); break;
      default: break;
    }
    SocketSlot& after = sockets[tag.slot];  // handlers may have grown the table
    if (after.closing && after.inflight == 0) {
      after.closing = false;
      ++after.generation;
      free_sockets.push_back(tag.slot);
    }
  }

  void apply(Time now, SendOnSocket& o) {
    auto it = slot_of_flow.find(o.flow);
    if (it == slot_of_flow.end()) return;  // the open failed; the engine was told
    SocketSlot& s = sockets[it->second];
    // A plain non-blocking send, like the tap writes: when the socket buffer
    // is full the datagram is dropped and counted (UDP may lose it). Sends
    // queued on the ring instead piled up without bound under a guest flood,
    // each holding its datagram (netd's RSS grew with the flood).
    if (::send(s.fd.get(), o.data.data(), o.data.size(), MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) return;
    on_datagram_send_error(now, s, errno, 1);
  }

  void on_datagram_send_error(Time now, SocketSlot& s, int err, size_t datagrams) {
    if (err == EAGAIN || err == ENOBUFS || err == EINTR) {
      stack_counters().host_send_drops += datagrams;
      return;
    }
    // ECONNREFUSED and friends: an ICMP error the connected socket recorded.
    stack.on_socket_error(now, s.kind, s.flow, err, actions);
  }

  // `run`: SendOnSocket requests of one flow, in order. UDP bursts go out
  // segmented (tap/udp_gso.h), the rest one datagram at a time; either way
  // nothing waits and nothing is queued.
  void send_datagrams(Time now, std::span<HostOp> run) {
    auto it = slot_of_flow.find(std::get<SendOnSocket>(run[0]).flow);
    if (it == slot_of_flow.end()) return;  // the open failed; the engine was told
    const uint32_t slot = it->second;
    size_t sizes[kMaxGsoSegments];
    std::span<const std::byte> data[kMaxGsoSegments];
    for (size_t i = 0; i < run.size();) {
      size_t n = 1;
      SocketSlot& s = sockets[slot];
      if (s.kind == SocketKind::Udp && s.segmenting && run.size() - i >= 2) {
        const size_t m = std::min(run.size() - i, kMaxGsoSegments);
        for (size_t k = 0; k < m; ++k) {
          data[k] = std::get<SendOnSocket>(run[i + k]).data;
          sizes[k] = data[k].size();
        }
        n = segment_run(std::span<const size_t>(sizes, m));
      }
      if (n < 2) {
        apply(now, std::get<SendOnSocket>(run[i]));
        ++i;
        continue;
      }
      int err = send_segmented(s.fd.get(), std::span<const std::span<const std::byte>>(data, n));
      if (err == 0) {
        ++stack_counters().udp_segmented_sends;
        i += n;
      } else if (err == EINVAL || err == EIO || err == EMSGSIZE || err == ENOPROTOOPT) {
        s.segmenting = false;  // this path cannot segment (MTU, device): one send per datagram
      } else if (err == EAGAIN || err == ENOBUFS || err == EINTR) {
        on_datagram_send_error(now, s, err, n);  // a full buffer drops the burst
        i += n;
      } else {
        // An error the socket recorded (an ICMP error: refused, unreachable)
        // is what the first datagram alone would have met: report it; the
        // rest go on as they would have.
        on_datagram_send_error(now, s, err, 1);
        ++i;
      }
    }
  }

  void apply(Time now, SendToPeer& o) {
    auto& c = stack_counters();
    SockAddr to = to_sockaddr(o.peer.addr, o.peer.port);
    if (o.listener >= listeners.size() || !listeners[o.listener].live) {
      ++c.udp_published_drops;
      return;
    }
    // Plain non-blocking sendto, like the tap writes: a full socket buffer
    // drops the datagram (UDP may), it never stalls the loop.
    if (::sendto(listeners[o.listener].fd.get(), o.data.data(), o.data.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                 to.get(), to.len) < 0) {
      ++c.udp_published_drops;
      uint64_t suppressed = 0;
      if (write_error_log.allow(now, &suppressed))
        LOG_DEBUG("reply to a published UDP client failed: %s (%llu similar suppressed)", std::strerror(errno),
                  static_cast<unsigned long long>(suppressed));
    }
  }

  void apply(Time, CloseSocket& o) {
    inbound.erase(o.flow);
    auto it = slot_of_flow.find(o.flow);
    if (it == slot_of_flow.end()) return;
    uint32_t slot = it->second;
    slot_of_flow.erase(it);
    SocketSlot& s = sockets[slot];
    if (s.kind == SocketKind::Tcp) {
      if (o.abort) {
        linger lg{1, 0};  // close() sends RST instead of FIN
        ::setsockopt(s.fd.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      }
      cancel_and_close(s.fd.release());
      s.live = false;
      if (s.inflight > 0) {
        s.closing = true;  // freed when the last completion is reported
      } else {
        ++s.generation;
        free_sockets.push_back(slot);
      }
      return;
    }
    // Cancel the armed multishot receive; the ring holds its own reference to
    // the file, so closing our fd right away is safe.
    io_uring_prep_cancel64(ring->sqe({Op::Cancel, 0, 0}),
                           uring::encode({Op::SocketRecv, s.generation, slot}), 0);
    s.fd.reset();
    s.live = false;
    ++s.generation;
    free_sockets.push_back(slot);
  }

  void apply(Time now, ForwardDns& o) {
    if (!forwarder) {
      stack.on_dns_reply(now, o.token, unexpected(-1), actions);
      return;
    }
    uint64_t token = o.token;
    forwarder->forward(o.query, false, [this, token](Expected<std::vector<std::byte>, int> reply) {
      stack.on_dns_reply(Clock::now(), token, reply, actions);
    });
  }

  // ---- completions ----------------------------------------------------------
  void on_completion(Time now, const io_uring_cqe& cqe) {
    Tag tag = uring::decode(cqe.user_data);
    switch (tag.op) {
      case Op::TapReadable:
        if (cqe.res < 0) {
          LOG_ERROR("polling the tap failed: %s; stopping", std::strerror(-cqe.res));
          running = false;
          exit_status = 1;
          return;
        }
        tap_backlog = true;
        if (!(cqe.flags & IORING_CQE_F_MORE)) arm_tap_poll();
        return;
      case Op::SocketRecv: return on_socket_recv(now, tag, cqe);
      case Op::PollFd: return on_poll(tag, cqe);
      case Op::SignalRead: return on_signal(cqe);
      case Op::PidExit:
        LOG_INFO("target process %d exited; stopping", opts.watch_pid ? *opts.watch_pid : -1);
        running = false;
        return;
      case Op::TcpConnect:
      case Op::TcpPoll:
      case Op::TcpRecv:
      case Op::TcpSend:
        return on_tcp_completion(now, tag, cqe);
      case Op::Accept:
        return on_accept(now, tag, cqe);
      case Op::PathEvent:
        return on_path_event(cqe);
      case Op::UdpPublished:
        return on_udp_readable(tag, cqe);
      case Op::Control:
        return on_control(cqe);
      case Op::Cancel:
      case Op::SocketSend:  // netd forward's; datagrams here are sent directly
      case Op::None:
        return;
    }
  }

  // Reads frames until the tap is empty or kTapBatch frames were handled.
  void drain_tap(Time now) {
    tap_backlog = false;
    for (int i = 0; i < kTapBatch; ++i) {
      ssize_t n = ::read(tap.get(), tap_buf.data(), tap_buf.size());
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        // The tap itself failed (device deleted under us): nothing more can flow.
        LOG_ERROR("reading the tap failed: %s; stopping", std::strerror(errno));
        running = false;
        exit_status = 1;
        return;
      }
      on_tap_frame(now, std::span<const std::byte>(tap_buf.data(), static_cast<size_t>(n)));
    }
    tap_backlog = true;
  }

  void on_tap_frame(Time now, std::span<const std::byte> frame) {
    bool offloaded = false;
    if (opts.vnet_hdr) {
      if (frame.size() < kVnetHdrLen) {
        ++stack_counters().drop_malformed;
        return;
      }
      VnetHeader h;
      std::memcpy(&h, frame.data(), kVnetHdrLen);
      // NEEDS_CSUM: the checksum is partial (left to "hardware");
      // DATA_VALID: already verified. Either way, not ours to check.
      offloaded = (h.flags & (kVnetNeedsCsum | kVnetDataValid)) != 0;
      frame = frame.subspan(kVnetHdrLen);
    }
    if (pcap) pcap->write(frame);
    stack.on_frame(now, frame, actions, offloaded);
  }

  void on_socket_recv(Time now, Tag tag, const io_uring_cqe& cqe) {
    std::span<const std::byte> data;
    std::optional<uint16_t> bid;
    if (cqe.flags & IORING_CQE_F_BUFFER) {
      bid = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
      if (cqe.res > 0) data = sock_rx->data(*bid, static_cast<size_t>(cqe.res));
    }
    bool current = tag.slot < sockets.size() && sockets[tag.slot].live &&
                   sockets[tag.slot].generation == tag.generation;
    if (current) {
      SocketSlot& s = sockets[tag.slot];
      if (cqe.res >= 0) {
        stack.on_socket_data(now, s.kind, s.flow, data, actions);
      } else if (cqe.res != -ENOBUFS && cqe.res != -ECANCELED) {
        stack.on_socket_error(now, s.kind, s.flow, -cqe.res, actions);
      }
      // A multishot receive ends on errors and when buffers ran out; the
      // socket may have been closed by the handler above.
      if (!(cqe.flags & IORING_CQE_F_MORE) && s.live && s.generation == tag.generation)
        arm_socket_recv(tag.slot);
    }
    if (bid) sock_rx->recycle(*bid);
  }

  void on_poll(Tag tag, const io_uring_cqe& cqe) {
    int fd = static_cast<int>(tag.slot);
    auto it = polls.find(fd);
    if (it == polls.end() || it->second.generation != tag.generation) return;  // replaced
    it->second.armed = false;
    if (cqe.res < 0) return;
    if (forwarder) forwarder->process(fd, (cqe.res & (POLLIN | POLLERR | POLLHUP)) != 0, (cqe.res & POLLOUT) != 0);
    // c-ares may have changed or dropped its interest while processing.
    it = polls.find(fd);
    if (it != polls.end() && !it->second.armed && it->second.generation == tag.generation)
      arm_poll(fd, it->second);
  }

  void on_signal(const io_uring_cqe& cqe) {
    if (cqe.res == static_cast<int>(sizeof siginfo)) {
      switch (siginfo.ssi_signo) {
        case SIGTERM:
        case SIGINT:
          LOG_INFO("signal %u: stopping", siginfo.ssi_signo);
          running = false;
          return;
        case SIGUSR1:
          LOG_INFO("counters %s", stack.counters().to_json().c_str());
          if (pcap) pcap->flush();
          break;
        default:
          break;
      }
    }
    arm_signal_read();
  }

  // ---- timers -----------------------------------------------------------------
  std::optional<Time> next_deadline(Time now) const {
    std::optional<Time> best = stack.next_deadline();
    auto consider = [&](std::optional<Time> t) {
      if (t && (!best || *t < *best)) best = t;
    };
    if (forwarder) consider(forwarder->next_deadline(now));
    consider(accept_retry_at);
    return best;
  }

  void on_timers(Time now) {
    if (accept_retry_at && now >= *accept_retry_at) {
      accept_retry_at.reset();
      for (uint32_t i = 0; i < listeners.size(); ++i) {
        if (!listeners[i].paused) continue;
        listeners[i].paused = false;
        arm_accept(i);
      }
    }
    stack.on_timer(now, actions);
    if (forwarder) forwarder->on_timer();
  }

  int run() {
    while (running) {
      Time now = Clock::now();
      auto deadline = next_deadline(now);
      std::optional<Duration> timeout;
      if (deadline) timeout = *deadline > now ? *deadline - now : Duration::zero();
      // Frames waiting on the tap, actions left by a bounded apply round, or
      // completions left by a bounded round: do not sleep.
      if (tap_backlog || udp_backlog || !actions.to_tap.empty() || !actions.to_host.empty() ||
          io_uring_cq_ready(ring->raw()) > 0)
        timeout = Duration::zero();
      int rc = ring->submit_and_wait(timeout);
      if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY) {
        LOG_ERROR("io_uring wait failed: %s", std::strerror(-rc));
        return 1;
      }
      now = Clock::now();
      // At most kCompletionBatch per round: every completion may add a frame
      // for the guest, and those are written only in apply_actions, so an
      // unbounded round (a full completion queue after the loop was
      // descheduled in a flood) would hold thousands of frames at once.
      ring->for_each_completion([&](const io_uring_cqe& c) { on_completion(now, c); }, kCompletionBatch);
      sock_rx->commit();
      if (tap_backlog) drain_tap(now);
      if (udp_backlog) drain_udp_backlog(now);
      if (deadline && now >= *deadline) on_timers(now);
      apply_actions(now);
    }
    if (pcap) pcap->flush();
    LOG_INFO("counters %s", stack.counters().to_json().c_str());
    return exit_status;
  }
};

Dataplane::Dataplane(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Dataplane::~Dataplane() = default;

Expected<std::unique_ptr<Dataplane>, std::string> Dataplane::create(UniqueFd tap, DataplaneOptions opts) {
  auto impl = std::make_unique<Impl>(std::move(opts));
  auto r = impl->init(std::move(tap));
  if (!r) return unexpected(r.error());
  return std::unique_ptr<Dataplane>(new Dataplane(std::move(impl)));
}

int Dataplane::run() { return impl_->run(); }
void Dataplane::publish(PublishedPort port) { impl_->publish(std::move(port)); }
bool Dataplane::unpublish(uint64_t id) { return impl_->unpublish(id); }
std::string Dataplane::published_flows_json() const { return impl_->published_flows_json(); }
void Dataplane::watch_control(int eventfd, std::function<void()> drain) {
  impl_->watch_control(eventfd, std::move(drain));
}
const Stack& Dataplane::stack() const { return impl_->stack; }

}  // namespace netd::tap
