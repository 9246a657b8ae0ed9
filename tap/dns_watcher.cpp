#include "tap/dns_watcher.h"

#include <poll.h>

#include "common/log.h"

namespace netd::tap {

Expected<std::unique_ptr<DnsWatcher>, std::string> DnsWatcher::create(loop::EventLoop& loop, Stack& stack,
                                                                     Actions& actions,
                                                                     std::vector<dns::UpstreamServer> servers,
                                                                     std::optional<wire::IpAddr> source4,
                                                                     std::optional<wire::IpAddr> source6) {
  std::unique_ptr<DnsWatcher> w(new DnsWatcher(loop, stack, actions));
  w->source4_ = source4;
  w->source6_ = source6;
  if (servers.empty()) {
    LOG_WARN("no DNS upstream servers: queries to %s will be answered with SERVFAIL",
             stack.config().dns.to_string().c_str());
    return w;
  }
  if (auto r = w->make_forwarder(std::move(servers)); !r) return unexpected("DNS forwarder: " + r.error());
  return w;
}

Expected<void, std::string> DnsWatcher::make_forwarder(std::vector<dns::UpstreamServer> servers) {
  dns::Forwarder::Options fo;
  fo.servers = std::move(servers);
  if (source4_) fo.source4 = source4_->to_string();
  if (source6_) fo.source6 = source6_->to_string();
  auto f = dns::Forwarder::create(fo, *this);
  if (!f) return unexpected(f.error());
  forwarder_ = std::move(*f);
  return {};
}

bool DnsWatcher::set_servers(std::vector<dns::UpstreamServer> servers) {
  if (servers.empty()) {
    LOG_WARN("the new DNS configuration names no usable name server: keeping the current upstreams");
    return false;
  }
  if (forwarder_) {
    if (auto r = forwarder_->set_servers(std::move(servers)); !r) {
      LOG_WARN("DNS upstreams unchanged: %s", r.error().c_str());
      return false;
    }
    return true;
  }
  if (auto r = make_forwarder(std::move(servers)); !r) {
    LOG_WARN("DNS upstreams unchanged: %s", r.error().c_str());
    return false;
  }
  return true;
}

void DnsWatcher::set_source(const wire::IpAddr& addr) {
  (addr.is_v4() ? source4_ : source6_) = addr;
  if (!forwarder_) return;
  auto r = forwarder_->set_sources(source4_ ? source4_->to_string() : "", source6_ ? source6_->to_string() : "");
  if (!r) LOG_WARN("DNS upstream sockets keep their source address: %s", r.error().c_str());
}

void DnsWatcher::forward(Time now, const ForwardDns& o) {
  if (!forwarder_) {
    stack_.on_dns_reply(now, o.token, unexpected(-1), actions_);
    return;
  }
  uint64_t token = o.token;
  forwarder_->forward(o.query, false, [this, token](Expected<std::vector<std::byte>, int> reply) {
    stack_.on_dns_reply(Clock::now(), token, reply, actions_);
  });
}

std::optional<Time> DnsWatcher::next_deadline(Time now) const {
  return forwarder_ ? forwarder_->next_deadline(now) : std::nullopt;
}

void DnsWatcher::on_timer() {
  if (forwarder_) forwarder_->on_timer();
}

void DnsWatcher::arm(int fd, PollState& p) {
  unsigned mask = (p.read ? POLLIN : 0) | (p.write ? POLLOUT : 0);
  loop().poll(tag(Op::Ready, static_cast<uint32_t>(fd), p.generation), fd, mask);
  p.armed = true;
}

void DnsWatcher::watch(int fd, bool readable, bool writable) {
  PollState& p = polls_[fd];
  if (p.armed) {
    // Replace the armed poll: cancel it and re-arm under a new generation,
    // so the cancelled one's completion is recognised as stale.
    loop().cancel(tag(Op::Ready, static_cast<uint32_t>(fd), p.generation));
    p.armed = false;
  }
  ++p.generation;
  p.read = readable;
  p.write = writable;
  if (!readable && !writable) {
    polls_.erase(fd);
    return;
  }
  arm(fd, p);
}

void DnsWatcher::on_completion(Time, const loop::Completion& c) {
  int fd = static_cast<int>(c.tag.slot);
  auto it = polls_.find(fd);
  if (it == polls_.end() || it->second.generation != c.tag.generation) return;  // replaced
  it->second.armed = false;
  if (c.res < 0) return;
  if (forwarder_) forwarder_->process(fd, (c.res & (POLLIN | POLLERR | POLLHUP)) != 0, (c.res & POLLOUT) != 0);
  // c-ares may have changed or dropped its interest while processing.
  it = polls_.find(fd);
  if (it != polls_.end() && !it->second.armed && it->second.generation == c.tag.generation) arm(fd, it->second);
}

}  // namespace netd::tap
