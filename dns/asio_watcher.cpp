#include "dns/asio_watcher.h"

namespace netd::dns {

void AsioWatcher::forget(Entry& e) {
  e.dead = true;
  boost::system::error_code ec;
  e.sd.cancel(ec);
  (void)e.sd.release();   // c-ares closes the fd itself
}

AsioWatcher::~AsioWatcher() {
  for (auto& [fd, e] : fds_) forget(*e);
}

void AsioWatcher::watch(int fd, bool readable, bool writable) {
  auto it = fds_.find(fd);
  if (!readable && !writable) {
    if (it != fds_.end()) {
      forget(*it->second);
      fds_.erase(it);
    }
    return;
  }
  if (it == fds_.end()) {
    auto e = std::make_shared<Entry>(io_);
    boost::system::error_code ec;
    e->sd.assign(fd, ec);
    if (ec) return;   // c-ares will time the query out
    it = fds_.emplace(fd, std::move(e)).first;
  }
  it->second->want_r = readable;
  it->second->want_w = writable;
  arm(fd, it->second);
}

void AsioWatcher::arm(int fd, const std::shared_ptr<Entry>& e) {
  using W = boost::asio::posix::stream_descriptor;
  if (e->want_r && !e->wait_r) {
    e->wait_r = true;
    e->sd.async_wait(W::wait_read, [this, fd, e](const boost::system::error_code& ec) {
      e->wait_r = false;
      if (e->dead || ec) return;
      on_ready_(fd, true, false);
      if (!e->dead) arm(fd, e);
    });
  }
  if (e->want_w && !e->wait_w) {
    e->wait_w = true;
    e->sd.async_wait(W::wait_write, [this, fd, e](const boost::system::error_code& ec) {
      e->wait_w = false;
      if (e->dead || ec) return;
      on_ready_(fd, false, true);
      if (!e->dead) arm(fd, e);
    });
  }
}

ForwarderDriver::ForwarderDriver(boost::asio::io_context& io)
    : timer_(io), watcher_(io, [this](int fd, bool r, bool w) {
        fwd_->process(fd, r, w);
        kick();
      }) {}

Expected<std::unique_ptr<ForwarderDriver>, std::string> ForwarderDriver::create(boost::asio::io_context& io,
                                                                               Forwarder::Options o) {
  std::unique_ptr<ForwarderDriver> d(new ForwarderDriver(io));
  auto f = Forwarder::create(std::move(o), d->watcher_);
  if (!f) return unexpected(f.error());
  d->fwd_ = std::move(*f);
  return d;
}

void ForwarderDriver::kick() {
  auto next = fwd_->next_deadline(Clock::now());
  if (!next) {
    timer_.cancel();
    return;
  }
  timer_.expires_at(*next);
  std::weak_ptr<bool> alive = alive_;
  timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    if (ec || alive.expired()) return;
    fwd_->on_timer();
    kick();
  });
}

ForwarderDriver::~ForwarderDriver() {
  alive_.reset();
  timer_.cancel();
  fwd_.reset();   // fails pending queries while the watcher still exists
}

}  // namespace netd::dns
