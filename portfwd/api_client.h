// The client side of the control API socket (netd/api_server.h), for
// `netd ctl` and for `netd network`, which publishes container ports through
// the rootless netns' outward engine.
//
// Theory of operation: one request per connection, as slirp4netns' API
// does: connect, write the JSON request, shut down the write side, read the
// reply until EOF. Every wait is bounded by `timeout` (SO_RCVTIMEO/SNDTIMEO).
// The reply is returned as text, whatever it says; errors are about the
// socket only, one line naming the path.
#pragma once

#include <string>
#include <string_view>

#include "common/expected.h"

namespace netd::portfwd {

Expected<std::string, std::string> api_call(const std::string& socket_path, std::string_view request,
                                            unsigned timeout_seconds = 10);

}  // namespace netd::portfwd
