// The counters' JSON (SIGUSR1, the exit log line, the API's get_counters):
// every counter once, in declaration order, compact, as before nlohmann built it.
#include "tap/counters.h"

#include <gtest/gtest.h>

#include <string>

namespace netd::tap {
namespace {

TEST(Counters, JsonIsCompactInDeclarationOrder) {
  Counters c;
  c.frames_in = 3;
  c.bytes_out = 18446744073709551615ull;  // the largest value prints whole
  c.udp_segmented_sends = 7;
  std::string j = c.to_json();
  EXPECT_EQ(j.rfind("{\"frames_in\":3,\"frames_out\":0,\"bytes_in\":0,\"bytes_out\":18446744073709551615,"
                    "\"drop_malformed\":0,",
                    0),
            0u)
      << j;
  EXPECT_TRUE(j.ends_with(",\"host_send_drops\":0,\"udp_segmented_sends\":7}")) << j;
  EXPECT_EQ(j.find(' '), std::string::npos);
  // Every counter appears exactly once, in the order of NETD_TAP_COUNTERS.
  size_t pos = 0;
#define NETD_EXPECT_NEXT(name)                                              \
  {                                                                         \
    size_t at = j.find("\"" #name "\":", pos);                              \
    ASSERT_NE(at, std::string::npos) << #name;                              \
    EXPECT_EQ(j.find("\"" #name "\":", at + 1), std::string::npos) << #name; \
    pos = at;                                                               \
  }
  NETD_TAP_COUNTERS(NETD_EXPECT_NEXT)
#undef NETD_EXPECT_NEXT
}

}  // namespace
}  // namespace netd::tap
