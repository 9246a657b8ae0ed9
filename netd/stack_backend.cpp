#include "netd/stack_backend.h"

#include <netinet/in.h>

#include "common/log.h"
#include "portfwd/host_socket.h"

namespace netd {

using portfwd::Forward;
using portfwd::Proto;
using portfwd::open_host_socket;
using portfwd::proto_name;

void StackBackend::attach() {
  dp_.watch_control(queue_.eventfd(), [this] { queue_.drain(); });
}

Expected<UniqueFd, std::string> StackBackend::open(const Forward& f) {
  // The tap stack reaches one IPv4 subnet: the guest address (default) or
  // another host the namespace routes to inside it, never netd's own.
  if (!f.guest_addr.is_v4())
    return unexpected("guest_addr " + f.guest_addr.to_string() + ": only IPv4 guest addresses are supported");
  const net::Ipv4Addr guest = f.guest_addr.v4();
  if (!cfg_.cidr.contains(guest) || guest == cfg_.gateway || guest == cfg_.dns ||
      guest == cfg_.cidr.network() || guest == cfg_.cidr.broadcast()) {
    return unexpected("guest_addr " + f.guest_addr.to_string() + " is not a guest address in " +
                      cfg_.cidr.network().to_string() + "/" + std::to_string(cfg_.cidr.prefix));
  }
  return open_host_socket(f.host_addr, f.host_port, f.proto, false, unpriv_start_);
}

Expected<void, std::string> StackBackend::add(const Forward& f, UniqueFd socket) {
  const net::Ipv4Addr guest = f.guest_addr.v4();  // (open() checked it)
  tap::PublishedPort p;
  p.socket = std::move(socket);
  p.udp = f.proto == Proto::Udp;
  p.guest_port = f.guest_port;
  if (guest != cfg_.guest) p.guest = guest;
  p.id = f.id;
  dp_.publish(std::move(p));
  LOG_INFO("forward %llu: %s %s:%u -> %s:%u (client addresses preserved)", static_cast<unsigned long long>(f.id),
           proto_name(f.proto), f.host_addr.to_string().c_str(), f.host_port, f.guest_addr.to_string().c_str(),
           f.guest_port);
  return {};
}

Expected<void, std::string> StackBackend::remove(uint64_t id) {
  if (!dp_.unpublish(id)) return unexpected("no forward with id " + std::to_string(id));
  LOG_INFO("forward %llu removed", static_cast<unsigned long long>(id));
  return {};
}

}  // namespace netd
