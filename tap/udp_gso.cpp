#include "tap/udp_gso.h"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

namespace netd::tap {

size_t segment_run(std::span<const size_t> sizes) {
  if (sizes.empty()) return 0;
  const size_t seg = sizes[0];
  if (seg == 0 || seg > UINT16_MAX) return 1;  // gso_size is 16 bits and never 0
  size_t n = 0, total = 0;
  while (n < sizes.size() && n < kMaxGsoSegments && sizes[n] <= seg && total + sizes[n] <= kMaxGsoBytes &&
         sizes[n] > 0) {
    total += sizes[n];
    ++n;
    if (sizes[n - 1] < seg) break;  // only the last segment may be shorter
  }
  return n == 0 ? 1 : n;
}

int send_segmented(int fd, std::span<const std::span<const std::byte>> datagrams) {
  iovec iov[kMaxGsoSegments];
  if (datagrams.empty() || datagrams.size() > kMaxGsoSegments) return EINVAL;
  for (size_t i = 0; i < datagrams.size(); ++i)
    iov[i] = {const_cast<std::byte*>(datagrams[i].data()), datagrams[i].size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(uint16_t))] = {};
  msghdr mh{};
  mh.msg_iov = iov;
  mh.msg_iovlen = datagrams.size();
  mh.msg_control = control;
  mh.msg_controllen = sizeof control;
  cmsghdr* cm = CMSG_FIRSTHDR(&mh);
  cm->cmsg_level = IPPROTO_UDP;
  cm->cmsg_type = UDP_SEGMENT;
  cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
  const auto gso_size = static_cast<uint16_t>(datagrams[0].size());
  std::memcpy(CMSG_DATA(cm), &gso_size, sizeof gso_size);
  if (::sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) return 0;
  return errno;
}

}  // namespace netd::tap
