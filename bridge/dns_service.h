// The embedded DNS server of the rootless netns, kept in step with the
// networks.
//
// Theory of operation: one `netd dns` daemon runs inside the rootless netns
// (spawn.h joins it there), on port 53 of the gateway of every network with
// DNS enabled and members. It reads the networks and their members straight
// from netd's own files (dns_registration.h), and forwards other names to the
// network's dns servers, else to the outward engine's DNS forwarder
// (10.0.2.3), which asks the host's resolvers.
//
// sync_dns() runs under the state lock at the end of every change:
//   nothing to serve     -> stop the server;
//   server not running   -> start it (netd dns' daemon protocol: its parent
//                           exits 0 once every gateway is bound) and record
//                           its pid and start time in dns.json;
//   server running       -> reload: write a new request number to dns.reload,
//                           SIGHUP, and wait (bounded) until the server has
//                           written that number to dns.applied, which it does
//                           after the new table is in place. So when
//                           `connect` returns, the name resolves; a reload
//                           keeps the sockets of addresses that stay, so no
//                           query is dropped.
// A failure here is reported but does not undo the change: the network works
// without names.
#pragma once

#include <string>

#include "bridge/paths.h"
#include "common/expected.h"

namespace netd::bridge {

struct RootlessNetns;

Expected<void, std::string> sync_dns(const Paths& p, const RootlessNetns& rn);
// Stops the server if the record names a live one, and removes the record.
void stop_dns(const Paths& p);

// The DNS server side of the reload handshake: the request number to
// acknowledge (read before loading the table) and the acknowledgement.
uint64_t dns_reload_requested(const Paths& p);
void dns_reload_applied(const Paths& p, uint64_t request);

}  // namespace netd::bridge
