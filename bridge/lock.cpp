#include "bridge/lock.h"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <cstring>

namespace netd::bridge {

Expected<StateLock, std::string> StateLock::lock(const std::string& path, bool wait) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return unexpected("cannot open lock file " + path + ": " + std::strerror(errno));
  int op = LOCK_EX | (wait ? 0 : LOCK_NB);
  int rc;
  while ((rc = ::flock(fd.get(), op)) != 0 && errno == EINTR) {
  }
  if (rc != 0) {
    int e = errno;
    if (e == EWOULDBLOCK) return unexpected("state lock " + path + " is held by another netd");
    return unexpected("cannot lock " + path + ": " + std::strerror(e));
  }
  return StateLock(std::move(fd));
}

Expected<StateLock, std::string> StateLock::acquire(const std::string& path) { return lock(path, true); }
Expected<StateLock, std::string> StateLock::try_acquire(const std::string& path) { return lock(path, false); }

}  // namespace netd::bridge
