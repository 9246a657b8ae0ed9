// ActionRunner: carries out the Actions the engines of one Stack produced,
// in rounds, on the parts of one queue's loop.
//
// Theory of operation: one round takes the frames already made (they depend
// on no request of the round) to the tap, then the requests to the parts
// (host sockets, published ports, the DNS forwarder), then the frames those
// just produced (a receive's data, a connect's SYN-ACK), then the
// teardowns (shutdown and close: ending a flow's socket helps nobody wait
// less). A frame for the guest thus never waits behind socket work it does
// not need, nor for a later round. Order within one flow holds: its frames
// keep their order, and a teardown is its flow's last request of the round.
// A burst of one flow's datagrams leaves in as few sends as possible.
// Parts a queue does not have (the published ports and the DNS forwarder
// live on queue 0 only) are null; a request for them is dropped and counted.
#pragma once

#include <vector>

#include "common/time.h"
#include "tap/actions.h"

namespace netd::tap {

class TapPort;
class HostSockets;
class PublishedPorts;
class DnsWatcher;
struct Counters;

struct QueueParts {
  TapPort& tap;
  HostSockets& sockets;
  PublishedPorts* published = nullptr;  // queue 0 only
  DnsWatcher* dns = nullptr;            // queue 0 only
  Counters& counters;
};

class ActionRunner {
 public:
  // Rounds until `actions` is empty or a bounded number of rounds ran
  // (actions may trigger more actions synchronously); what is left waits
  // for the next loop round.
  void apply(Time now, Actions& actions, QueueParts parts);

 private:
  void apply_round(Time now, Actions& actions, QueueParts& parts);
  Actions batch_;                 // the round's working copy (reused: no allocation per round)
  std::vector<HostOp> teardown_;  // the round's deferred shutdowns and closes
};

}  // namespace netd::tap
