// Crash points: where a test may kill a mutating `netd network` call.
//
// Theory of operation: every mutating call must leave a state that the next
// call repairs, whatever instant it dies at. To test that without timing
// luck, the calls name the dangerous instants (between creating something
// and recording it); when NETD_TEST_CRASH_AT names one, the process sends
// itself SIGKILL there — exactly what `kill -9` would do. Unset, a crash point
// costs one getenv.
#pragma once

#include <signal.h>

#include <cstdlib>
#include <cstring>

namespace netd::bridge {

inline void crash_point(const char* name) {
  const char* want = std::getenv("NETD_TEST_CRASH_AT");
  if (want && std::strcmp(want, name) == 0) ::raise(SIGKILL);
}

}  // namespace netd::bridge
