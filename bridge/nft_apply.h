// Applying the firewall (nft_rules.h) inside the rootless netns.
//
// Theory of operation: libnftables talks netlink itself, from the calling
// process's namespaces, so the whole transaction runs in a run_in_netns()
// child that joined the rootless netns. The child runs the replace script,
// then lists table inet netd and checks that every expected rule comment is
// there (or, for no networks, that the table is gone). Any failure comes
// back as one line that includes libnftables' own message.
#pragma once

#include <string>
#include <vector>

#include "bridge/nft_rules.h"
#include "common/expected.h"
#include "common/netns.h"

namespace netd::bridge {

Expected<void, std::string> apply_firewall(const NsTarget& rootless, const std::vector<FirewallNetwork>& nets);

}  // namespace netd::bridge
