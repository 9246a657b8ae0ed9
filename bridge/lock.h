// The state lock: every mutating `netd network` call holds it from its first
// read of state to its last write.
//
// Theory of operation: an exclusive flock() on runtime_dir/lock. flock locks
// belong to the open file description, so two netd processes (or two opens
// in one process) exclude each other, and the kernel drops the lock when the
// holder dies — a crashed call never leaves the lock held. acquire() blocks;
// try_acquire() fails at once with EWOULDBLOCK semantics (for tests).
#pragma once

#include <string>

#include "common/expected.h"
#include "common/unique_fd.h"

namespace netd::bridge {

class StateLock {
 public:
  // Blocks until the lock is ours. Creates the file (0600) if needed.
  static Expected<StateLock, std::string> acquire(const std::string& path);
  // Returns an error immediately when someone else holds the lock.
  static Expected<StateLock, std::string> try_acquire(const std::string& path);

  StateLock(StateLock&&) = default;
  StateLock& operator=(StateLock&&) = default;
  bool held() const { return fd_.valid(); }

 private:
  explicit StateLock(UniqueFd fd) : fd_(std::move(fd)) {}
  static Expected<StateLock, std::string> lock(const std::string& path, bool wait);
  UniqueFd fd_;  // closing it releases the lock
};

}  // namespace netd::bridge
