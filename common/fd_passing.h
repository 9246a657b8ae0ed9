// Passing file descriptors over an AF_UNIX socket (SCM_RIGHTS), with a short
// status text beside them so the receiver learns *why* when no fd came.
#pragma once

#include <string>
#include <vector>

#include "common/expected.h"
#include "common/unique_fd.h"

namespace netd {

// Sends `fds` (may be empty) and `text` as one message. Returns 0 or -errno.
int send_fds(int sock, const std::vector<int>& fds, const std::string& text);

struct ReceivedFds {
  std::vector<UniqueFd> fds;
  std::string text;
};
// Receives one message sent by send_fds. At most `max_fds` descriptors are
// accepted; any extra the kernel delivered are closed. Returns -errno on error,
// -ECONNRESET when the peer closed without sending.
Expected<ReceivedFds, int> recv_fds(int sock, size_t max_fds);

}  // namespace netd
