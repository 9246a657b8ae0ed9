// How many datagrams of a burst one UDP_SEGMENT send may carry
// (tap/udp_gso.h): the kernel's rules, checked without a socket.
#include "tap/udp_gso.h"

#include <gtest/gtest.h>

#include <vector>

namespace netd::tap {
namespace {

size_t run(std::vector<size_t> sizes) { return segment_run(sizes); }

TEST(UdpSegmentRun, EqualSizesGoTogether) {
  EXPECT_EQ(run({1400, 1400, 1400}), 3u);
  EXPECT_EQ(run({1400}), 1u);
  EXPECT_EQ(run({}), 0u);
}

TEST(UdpSegmentRun, OnlyTheLastMayBeShorter) {
  EXPECT_EQ(run({1400, 1400, 300, 1400}), 3u) << "a shorter one ends the run";
  EXPECT_EQ(run({300, 1400, 1400}), 1u) << "a longer one cannot follow";
  EXPECT_EQ(run({1400, 1401}), 1u);
}

TEST(UdpSegmentRun, BoundedBySegmentsAndOnePacket) {
  EXPECT_EQ(run(std::vector<size_t>(100, 100)), kMaxGsoSegments);
  // 1400 * 46 = 64400 fits one packet's payload, a 47th would not.
  EXPECT_EQ(run(std::vector<size_t>(60, 1400)), 46u);
  EXPECT_EQ(run({40000, 40000}), 1u);
}

TEST(UdpSegmentRun, EmptyAndHugeDatagramsGoAlone) {
  EXPECT_EQ(run({0, 0, 0}), 1u) << "gso_size 0 is not a size";
  EXPECT_EQ(run({1400, 0}), 1u) << "an empty datagram is not a segment";
  EXPECT_EQ(run({70000, 70000}), 1u);
}

}  // namespace
}  // namespace netd::tap
