// The outbound interface's address monitor (see outbound_monitor.h).
#include "netd/outbound_monitor.h"

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/msg.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace netd {

OutboundTracker::OutboundTracker(std::string ifname, net::IpFamily family,
                                 const std::vector<InterfaceAddress>& host_addrs, net::IpAddr chosen, Use use)
    : ifname_(std::move(ifname)), family_(family), use_(use), chosen_(chosen) {
  for (const auto& ia : host_addrs)
    if (ia.ifname == ifname_ && ia.addr.family() == family_) addrs_.push_back(ia.addr);
}

OutboundTracker::Change OutboundTracker::on_address(const net::IpAddr& addr, bool present) {
  if (addr.family() != family_) return {};
  auto it = std::find(addrs_.begin(), addrs_.end(), addr);
  if (present && it == addrs_.end()) addrs_.push_back(addr);
  if (!present && it != addrs_.end()) addrs_.erase(it);
  // The start-up rule (netd/outbound_addr.h) over what the interface has now.
  std::vector<InterfaceAddress> now;
  for (const auto& a : addrs_) now.push_back({ifname_, a});
  auto pick = resolve_outbound(OutboundSpec{ifname_}, family_, now);
  if (!pick) {
    if (lost_) return {};
    lost_ = true;
    return {Change::Kind::NoAddress, chosen_};
  }
  lost_ = false;
  if (*pick == chosen_) return {};
  chosen_ = *pick;
  return {Change::Kind::NewAddress, chosen_};
}

Expected<std::unique_ptr<OutboundMonitor>, std::string> OutboundMonitor::start(
    std::vector<OutboundTracker> trackers) {
  std::unique_ptr<OutboundMonitor> m(new OutboundMonitor);
  for (auto& t : trackers) {
    unsigned index = ::if_nametoindex(t.ifname().c_str());
    if (index == 0) return unexpected("outbound interface " + t.ifname() + ": " + std::strerror(errno));
    m->followed_.push_back({std::move(t), static_cast<int>(index)});
  }
  m->sock_.reset(nl_socket_alloc());
  if (!m->sock_) return unexpected(std::string("netlink: out of memory"));
  nl_sock* sk = m->sock_.get();
  nl_socket_disable_seq_check(sk);  // notifications carry no sequence of ours
  nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, &OutboundMonitor::on_message, m.get());
  if (int rc = nl_connect(sk, NETLINK_ROUTE); rc < 0)
    return unexpected(std::string("netlink: ") + nl_geterror(rc));
  if (int rc = nl_socket_add_memberships(sk, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, 0); rc < 0)
    return unexpected(std::string("netlink address notifications: ") + nl_geterror(rc));
  if (int rc = nl_socket_set_nonblocking(sk); rc < 0) return unexpected(std::string("netlink: ") + nl_geterror(rc));
  return m;
}

int OutboundMonitor::fd() const { return nl_socket_get_fd(sock_.get()); }

void OutboundMonitor::process(const OnNew& on_new) {
  on_new_ = &on_new;
  // Each call reads one datagram; a bounded number per wake-up, the rest
  // on the next (the socket stays readable).
  for (int i = 0; i < 64; ++i) {
    int rc = nl_recvmsgs_report(sock_.get(), nl_socket_get_cb(sock_.get()));
    if (rc == 0) break;  // nothing more to read
    if (rc < 0) {
      // ENOBUFS: notifications were lost (a burst); the next one corrects
      // the picture for the addresses it names.
      if (rc != -NLE_AGAIN) LOG_WARN("reading address notifications: %s", nl_geterror(rc));
      break;
    }
  }
  on_new_ = nullptr;
}

// One RTM_NEWADDR / RTM_DELADDR notification (libnl calls this per message).
int OutboundMonitor::on_message(nl_msg* msg, void* arg) {
  auto* self = static_cast<OutboundMonitor*>(arg);
  const nlmsghdr* h = nlmsg_hdr(msg);
  if (h->nlmsg_type != RTM_NEWADDR && h->nlmsg_type != RTM_DELADDR) return NL_OK;
  if (h->nlmsg_len < NLMSG_LENGTH(sizeof(ifaddrmsg))) return NL_OK;
  const auto* ifa = static_cast<const ifaddrmsg*>(nlmsg_data(h));
  // IFA_LOCAL is the address itself on point-to-point links, IFA_ADDRESS
  // elsewhere (where both are the same); IFA_FLAGS widens ifa_flags.
  nlattr* tb[IFA_MAX + 1] = {};
  if (nlmsg_parse(const_cast<nlmsghdr*>(h), sizeof(ifaddrmsg), tb, IFA_MAX, nullptr) < 0) return NL_OK;
  nlattr* a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
  if (!a) return NL_OK;
  uint32_t flags = tb[IFA_FLAGS] && nla_len(tb[IFA_FLAGS]) >= 4 ? nla_get_u32(tb[IFA_FLAGS]) : ifa->ifa_flags;
  std::optional<net::IpAddr> addr;
  if (ifa->ifa_family == AF_INET && nla_len(a) == 4) {
    const auto* o = static_cast<const uint8_t*>(nla_data(a));
    addr = net::IpAddr(net::Ipv4Addr::from_octets(o[0], o[1], o[2], o[3]));
  } else if (ifa->ifa_family == AF_INET6 && nla_len(a) == 16) {
    net::Ipv6Addr v6;
    std::memcpy(v6.b.data(), nla_data(a), 16);
    addr = net::IpAddr(v6);
  }
  if (!addr) return NL_OK;
  // Not yet usable (duplicate address detection), or never: not there.
  bool present = h->nlmsg_type == RTM_NEWADDR && !(flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED));
  self->on_address(static_cast<int>(ifa->ifa_index), *addr, present);
  return NL_OK;
}

void OutboundMonitor::on_address(int ifindex, const net::IpAddr& addr, bool present) {
  for (auto& f : followed_) {
    if (f.ifindex != ifindex || f.tracker.family() != addr.family()) continue;
    auto c = f.tracker.on_address(addr, present);
    const char* fam = f.tracker.family() == net::IpFamily::V4 ? "IPv4" : "IPv6";
    const bool source = f.tracker.use() == OutboundTracker::Use::Source;
    if (c.kind == OutboundTracker::Change::Kind::NewAddress) {
      LOG_INFO("outbound interface %s: new %s address %s: %s", f.tracker.ifname().c_str(), fam,
               c.addr.to_string().c_str(),
               source ? "new flows leave from it" : "new flows to --map-guest-addr go to it");
      if (on_new_ && *on_new_) (*on_new_)(f.tracker, c.addr);
    } else if (c.kind == OutboundTracker::Change::Kind::NoAddress) {
      LOG_WARN("outbound interface %s has no usable %s address now: %s until it gets one (still %s)",
               f.tracker.ifname().c_str(), fam,
               source ? "new flows fail" : "new flows to --map-guest-addr fail", c.addr.to_string().c_str());
    }
  }
}

}  // namespace netd
