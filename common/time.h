// The one clock of netd: engines take `Time now` as a parameter and never read
// a clock themselves, so unit tests drive them with a fake time.
#pragma once

#include <chrono>

namespace netd {

using Clock = std::chrono::steady_clock;
using Time = Clock::time_point;
using Duration = Clock::duration;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

}  // namespace netd
