// The control API's requests: slirp4netns' (add_hostfwd, list_hostfwd,
// remove_hostfwd) exactly as slirp4netns accepts them, plus netd's own
// (list_flows, get_counters), and the reply envelopes.
//
// Theory of operation: a request is one JSON object
// {"execute": NAME, "arguments": {...}}. parse_api_request() checks the size,
// the JSON, and every field's presence and type, fills slirp4netns' defaults
// (empty or missing host_addr = 0.0.0.0, empty or missing guest_addr = the
// guest address) and returns a typed request, or the text for
// {"error":{"desc":"bad request: ..."}}. It never throws and never trusts a
// field's type. classify_request() tells a server whether bytes read so far
// form a whole JSON text yet (clients may or may not shut down their write side).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "common/expected.h"
#include "common/net/ip.h"
#include "portfwd/forward.h"

namespace netd::portfwd {

struct ApiDefaults {
  net::IpAddr guest_addr = net::Ipv4Addr::from_octets(10, 0, 2, 100);  // for an empty/missing guest_addr
  size_t max_size = 64 * 1024;                             // larger requests are refused
};

struct ListHostFwd {};
struct RemoveHostFwd {
  uint64_t id = 0;
};
struct ListFlows {};
struct GetCounters {};
// add_hostfwd parses into the Forward it asks for (id 0: the registry gives one).
using ApiRequest = std::variant<Forward, ListHostFwd, RemoveHostFwd, ListFlows, GetCounters>;

// Parses one request. The error text starts with "bad request: ".
Expected<ApiRequest, std::string> parse_api_request(std::string_view text, const ApiDefaults& defaults);

enum class RequestStatus { Complete, Incomplete, Invalid };
// Whether `text` is a whole JSON value (Complete), a prefix of one
// (Incomplete: read more), or can never become one (Invalid).
RequestStatus classify_request(std::string_view text);

// {"error":{"desc":DESC}} with DESC escaped.
std::string error_reply(std::string_view desc);

}  // namespace netd::portfwd
