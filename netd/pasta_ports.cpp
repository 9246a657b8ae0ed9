#include "netd/pasta_ports.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "portfwd/host_socket.h"
#include "portfwd/port_holder.h"

namespace netd {

std::map<PastaPorts::Key, PastaPorts::Target> PastaPorts::wanted(const portfwd::FwdTable& inbound,
                                                                 const BoundPorts& bound) const {
  std::map<Key, Target> out;
  for (const auto& r : inbound.rules) {
    std::vector<std::string> addrs;
    if (r.any_address) {
      if (cfg_.ipv4) addrs.emplace_back("0.0.0.0");
      if (cfg_.ipv6) addrs.emplace_back("::");
    } else {
      addrs.push_back(r.addr.to_string());
    }
    std::string guest;
    if (r.has_target()) guest = r.target.to_string();
    const std::set<uint16_t>& scanned = r.proto == portfwd::Proto::Udp ? bound.udp : bound.tcp;
    for (uint32_t p = r.first; p <= r.last; ++p) {
      const auto port = static_cast<uint16_t>(p);
      const uint16_t guest_port = r.target_port(port);
      if (r.scan && !scanned.count(guest_port)) continue;
      for (const auto& a : addrs) out[Key{r.proto, a, r.ifname, port}] = Target{guest_port, guest, r.weak || r.scan};
    }
  }
  return out;
}

Expected<UniqueFd, std::string> PastaPorts::bind_waiting(const Key& k, std::chrono::milliseconds wait) const {
  auto addr = net::IpAddr::parse(k.addr);
  if (!addr) return unexpected("bad listening address " + k.addr);
  auto sock = wait.count() > 0 ? portfwd::open_host_socket_waiting(*addr, k.port, k.proto, wait, false, unpriv_start_)
                               : portfwd::open_host_socket(*addr, k.port, k.proto, false, unpriv_start_);
  if (!sock) return sock;  // (errno: the bind's)
  if (!k.ifname.empty() &&
      ::setsockopt(sock->get(), SOL_SOCKET, SO_BINDTODEVICE, k.ifname.c_str(), k.ifname.size()) != 0) {
    return unexpected("cannot bind port " + std::to_string(k.port) + " to interface " + k.ifname + ": " +
                      std::strerror(errno));
  }
  return sock;
}

Expected<tap::PublishedPort, std::string> PastaPorts::open(const Key& k, const Target& t,
                                                           std::chrono::milliseconds wait, Prebound* prebound) {
  tap::PublishedPort p;
  if (!t.guest.empty()) {
    auto g = net::Ipv4Addr::parse(t.guest);
    if (!g) {
      errno = EINVAL;
      return unexpected("target address " + t.guest + ": only IPv4 targets are supported by netd");
    }
    p.guest = *g;
  }
  if (auto pre = prebound ? prebound->find(k) : Prebound::iterator{}; prebound && pre != prebound->end()) {
    p.socket = std::move(pre->second);
    prebound->erase(pre);
  } else {
    auto sock = bind_waiting(k, wait);
    if (!sock) {
      const int e = errno;
      std::string message = sock.error();
      errno = e;  // (reconcile tells a port in use apart)
      return unexpected(std::move(message));
    }
    p.socket = std::move(*sock);
  }
  p.udp = k.proto == portfwd::Proto::Udp;
  p.guest_port = t.guest_port;
  return p;
}

Expected<void, std::string> PastaPorts::reconcile(const portfwd::FwdTable& inbound, const BoundPorts& bound,
                                                  std::chrono::milliseconds handover_wait, Prebound* prebound,
                                                  std::optional<Key>* in_use) {
  const std::map<Key, Target> want = wanted(inbound, bound);
  // Bind everything new first: a strong port that cannot be bound leaves
  // the held set as it was.
  std::vector<std::pair<Key, tap::PublishedPort>> added;
  std::vector<std::pair<Key, Target>> added_targets;
  size_t skipped = 0;
  for (const auto& [k, t] : want) {
    auto h = held_.find(k);
    if (h != held_.end() && h->second.target == t) continue;
    if (h != held_.end()) continue;  // retargeted: rebound below, after the old one is gone
    auto p = open(k, t, t.weak ? std::chrono::milliseconds(0) : handover_wait, prebound);
    if (!p) {
      const bool port_in_use = errno == EADDRINUSE;
      if (t.weak) {
        ++skipped;
        LOG_DEBUG("port %s %s:%u skipped: %s", portfwd::proto_name(k.proto), k.addr.c_str(), k.port,
                  p.error().c_str());
        continue;
      }
      if (port_in_use && in_use) *in_use = k;
      return unexpected(p.error());
    }
    added.emplace_back(k, std::move(*p));
    added_targets.emplace_back(k, t);
  }
  // Gone or retargeted listeners go; connections they accepted finish.
  for (auto it = held_.begin(); it != held_.end();) {
    auto w = want.find(it->first);
    if (w != want.end() && w->second == it->second.target) {
      ++it;
      continue;
    }
    dp_.unpublish(it->second.id);
    const bool retarget = w != want.end();
    Key k = it->first;
    it = held_.erase(it);
    if (retarget) {
      auto p = open(k, w->second, std::chrono::milliseconds(0), prebound);  // (it was ours a moment ago)
      if (!p) {
        LOG_WARN("port %s %s:%u: %s", portfwd::proto_name(k.proto), k.addr.c_str(), k.port, p.error().c_str());
        continue;
      }
      added.emplace_back(k, std::move(*p));
      added_targets.emplace_back(k, w->second);
    }
  }
  for (size_t i = 0; i < added.size(); ++i) {
    tap::PublishedPort& p = added[i].second;
    p.id = next_id_++;
    held_[added[i].first] = Held{p.id, added_targets[i].second};
    dp_.publish(std::move(p));
  }
  if (!added.empty() || skipped) {
    LOG_INFO("forwarding %zu host port listener(s) into the namespace (%zu new%s)", held_.size(), added.size(),
             skipped ? (", " + std::to_string(skipped) + " ports skipped (in use or not permitted)").c_str() : "");
  }
  return {};
}

}  // namespace netd
