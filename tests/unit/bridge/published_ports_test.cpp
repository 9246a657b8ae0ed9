// Published ports: -p specs -> ports, and the API requests that carry them.
#include "bridge/published_ports.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

using namespace netd::bridge;

TEST(PublishedPorts, ParseExpandsRanges) {
  auto p = parse_publish({"127.0.0.1:8080-8081:80-81", "5353:53/udp"});
  ASSERT_TRUE(p) << p.error();
  ASSERT_EQ(p->size(), 3u);
  EXPECT_EQ((*p)[0], (PublishedPort{"tcp", "127.0.0.1", 8080, 80, 0}));
  EXPECT_EQ((*p)[1], (PublishedPort{"tcp", "127.0.0.1", 8081, 81, 0}));
  EXPECT_EQ((*p)[2], (PublishedPort{"udp", "0.0.0.0", 5353, 53, 0}));
}

TEST(PublishedPorts, ParseErrorsNameTheSpec) {
  auto p = parse_publish({"8080:80", "99999:80"});
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().find("99999:80"), std::string::npos) << p.error();
}

TEST(PublishedPorts, AddRequestTargetsTheEnginesGuestOnTheHostPort) {
  auto j = nlohmann::json::parse(add_forward_request({"udp", "127.0.0.1", 5353, 53, 0}));
  EXPECT_EQ(j["execute"], "add_hostfwd");
  EXPECT_EQ(j["arguments"]["proto"], "udp");
  EXPECT_EQ(j["arguments"]["host_addr"], "127.0.0.1");
  EXPECT_EQ(j["arguments"]["host_port"], 5353);
  // The guest is the rootless netns (the engine's default guest address);
  // the container port is reached by the DNAT rule, not by the forward.
  EXPECT_EQ(j["arguments"]["guest_addr"], "");
  EXPECT_EQ(j["arguments"]["guest_port"], 5353);
}

TEST(PublishedPorts, RemoveRequest) {
  EXPECT_EQ(nlohmann::json::parse(remove_forward_request(42)),
            nlohmann::json::parse(R"({"execute":"remove_hostfwd","arguments":{"id":42}})"));
}
