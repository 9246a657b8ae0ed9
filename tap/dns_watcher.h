// DnsWatcher: the DNS address's upstream forwarder (c-ares, dns/upstream.h)
// with its sockets watched on the data plane's event loop.
//
// Theory of operation: queries the guest sends to the DNS address reach the
// Stack, which asks for them to be forwarded (ForwardDns); the reply (or
// the failure) goes back through Stack::on_dns_reply with the query's
// token. c-ares owns its sockets and says which to watch, for reading or
// writing (SocketWatcher::watch); each watched fd has one poll armed, with
// the fd as its slot and a generation per fd: when c-ares changes its
// interest, the armed poll is cancelled and a new one armed under the next
// generation, so the cancelled one's completion is recognised as stale.
// Time-outs come from the forwarder's deadline, which the data plane folds
// into its own. Without upstream servers every query is answered SERVFAIL.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/event_loop.h"
#include "dns/upstream.h"
#include "tap/actions.h"
#include "tap/stack.h"

namespace netd::tap {

class DnsWatcher final : public loop::Handler, public dns::SocketWatcher {
 public:
  // `servers` empty: no forwarder (a warning names the DNS address).
  // `source4/6`: upstream sockets' source addresses (--outbound-addr).
  static Expected<std::unique_ptr<DnsWatcher>, std::string> create(loop::EventLoop& loop, Stack& stack,
                                                                  Actions& actions,
                                                                  std::vector<dns::UpstreamServer> servers,
                                                                  std::optional<wire::IpAddr> source4,
                                                                  std::optional<wire::IpAddr> source6);
  // The forwarder goes first: its destructor fails the pending queries
  // (into the Stack) and forgets its sockets (watch(), cancels on the loop).
  ~DnsWatcher() override { forwarder_.reset(); }

  void forward(Time now, const ForwardDns& o);
  // New upstreams (resolv.conf changed): queries from now on go to
  // `servers`, queries in flight finish where they were sent
  // (dns::Forwarder::set_servers). Empty: kept as they are (a message says
  // so). Returns false, with a warning logged, when they cannot be used.
  bool set_servers(std::vector<dns::UpstreamServer> servers);
  // Upstream sockets opened from now on bind to `addr` (the outbound
  // address of its family changed); queries in flight finish as they are.
  void set_source(const wire::IpAddr& addr);
  std::optional<Time> next_deadline(Time now) const;
  void on_timer();

  void watch(int fd, bool readable, bool writable) override;
  void on_completion(Time now, const loop::Completion& c) override;

 private:
  enum class Op : uint8_t { Ready };
  struct PollState {
    bool read = false, write = false;  // what c-ares wants
    bool armed = false;
    uint16_t generation = 0;
  };
  DnsWatcher(loop::EventLoop& loop, Stack& stack, Actions& actions) : Handler(loop), stack_(stack), actions_(actions) {}
  void arm(int fd, PollState& p);
  // The forwarder for `servers`, with the sockets' source addresses.
  Expected<void, std::string> make_forwarder(std::vector<dns::UpstreamServer> servers);

  Stack& stack_;
  Actions& actions_;
  std::optional<wire::IpAddr> source4_, source6_;
  std::unique_ptr<dns::Forwarder> forwarder_;
  std::unordered_map<int, PollState> polls_;
};

}  // namespace netd::tap
