// Published ports of containers on bridge networks (`connect -p`).
//
// Theory of operation: a host port is carried into the rootless netns by its
// outward engine (`netd slirp4netns`, rootless_netns.h): add_hostfwd on the
// engine's API socket, with the host address and port the user gave, the
// engine's default guest address (the rootless netns itself, 10.0.2.100) and
// guest port = host port. Inside the rootless netns, table inet netd DNATs
// "destination is a local address, this port" to the container's address and
// port (nft_rules.h) — in prerouting for connections the engine injects
// through its tap from the client's own address (its in-stack forwards: the
// container sees the real client, which rootlessport cannot give), and in
// output for connections made from inside the namespace (a carrier that
// connects from here, such as netd forward's splice: the container then sees
// the rootless netns' address). Either reaches the container.
//
// Each forward's id is recorded with its member (network_state.h), so
// disconnect and rm remove exactly those; forwards that no member records
// (a call killed between adding and recording) are found with list_hostfwd
// and removed by the next call.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bridge/network_state.h"
#include "bridge/paths.h"
#include "common/expected.h"

namespace netd::bridge {

// "-p" arguments -> ports to publish (forward ids 0). Error: "-p SPEC: why".
Expected<std::vector<PublishedPort>, std::string> parse_publish(const std::vector<std::string>& specs);

// The API request texts (pure; exposed for tests).
std::string add_forward_request(const PublishedPort& port);
std::string remove_forward_request(uint64_t id);

// Adds the engine's forward for `port`; returns its id, or the engine's
// message (e.g. the port is taken or below ip_unprivileged_port_start).
Expected<uint64_t, std::string> add_forward(const Paths& p, const PublishedPort& port);
Expected<void, std::string> remove_forward(const Paths& p, uint64_t id);
// Ids of every forward the engine has.
Expected<std::vector<uint64_t>, std::string> list_forwards(const Paths& p);

}  // namespace netd::bridge
