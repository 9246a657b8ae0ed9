// AsioWatcher: the SocketWatcher (upstream.h) for an Asio event loop, plus the
// timer that drives one Forwarder.
//
// Theory of operation: c-ares owns its sockets; we only wait on them. Each fd
// c-ares reports is wrapped in a posix::stream_descriptor that is *released*
// (never closed) when c-ares forgets the fd. One-shot async_waits for read
// and write are re-armed after each readiness while c-ares still wants them.
// Handlers hold the entry by shared_ptr and check its `dead` flag, so a wait
// that completes after the fd was forgotten (or reused) does nothing.
// ForwarderDriver owns watcher + Forwarder + timer; call kick() after
// forward() so the timer follows next_deadline().
#pragma once

#include <utility>   // before Asio: Boost 1.74 awaitable.hpp uses std::exchange

#include <boost/asio.hpp>
#include <functional>
#include <map>
#include <memory>

#include "dns/upstream.h"

namespace netd::dns {

class AsioWatcher : public SocketWatcher {
 public:
  using Ready = std::function<void(int fd, bool readable, bool writable)>;
  AsioWatcher(boost::asio::io_context& io, Ready on_ready) : io_(io), on_ready_(std::move(on_ready)) {}
  ~AsioWatcher() override;
  void watch(int fd, bool readable, bool writable) override;
  size_t watched() const { return fds_.size(); }

 private:
  struct Entry {
    explicit Entry(boost::asio::io_context& io) : sd(io) {}
    boost::asio::posix::stream_descriptor sd;
    bool want_r = false, want_w = false, wait_r = false, wait_w = false, dead = false;
  };
  void arm(int fd, const std::shared_ptr<Entry>& e);
  static void forget(Entry& e);
  boost::asio::io_context& io_;
  Ready on_ready_;
  std::map<int, std::shared_ptr<Entry>> fds_;
};

class ForwarderDriver {
 public:
  static Expected<std::unique_ptr<ForwarderDriver>, std::string> create(boost::asio::io_context& io,
                                                                        Forwarder::Options o);
  Forwarder& forwarder() { return *fwd_; }
  void kick();   // re-arm the timer to the forwarder's next deadline
  ~ForwarderDriver();

 private:
  explicit ForwarderDriver(boost::asio::io_context& io);
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  boost::asio::steady_timer timer_;
  AsioWatcher watcher_;
  std::unique_ptr<Forwarder> fwd_;
};

}  // namespace netd::dns
