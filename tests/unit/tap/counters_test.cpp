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
  EXPECT_TRUE(j.ends_with(",\"udp_segmented_sends\":7,\"queue_handoffs\":0,\"queue_handoff_drops\":0}")) << j;
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

TEST(Counters, SumOfQueuesAddsEveryCounter) {
  Counters a, b;
  a.frames_in = 3;
  a.queue_handoffs = 1;
  b.frames_in = 4;
  b.tcp_bytes_to_host = 10;
  b.queue_handoff_drops = 2;
  a += b;
  EXPECT_EQ(a.frames_in, 7u);
  EXPECT_EQ(a.tcp_bytes_to_host, 10u);
  EXPECT_EQ(a.queue_handoffs, 1u);
  EXPECT_EQ(a.queue_handoff_drops, 2u);
  EXPECT_EQ(b.frames_in, 4u);  // the right-hand side is left alone
}

}  // namespace
}  // namespace netd::tap
