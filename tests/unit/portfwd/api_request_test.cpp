// API requests: slirp4netns' shapes and netd's own, malformed JSON, missing
// and mistyped fields, huge messages, ids, and the registry's replies.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "portfwd/api_request.h"
#include "portfwd/forward_registry.h"

namespace netd::portfwd {
namespace {

ApiDefaults defaults() { return ApiDefaults{}; }

Forward add_ok(const std::string& s) {
  auto r = parse_api_request(s, defaults());
  EXPECT_TRUE(r.has_value()) << s << ": " << (r ? "" : r.error());
  if (!r) return {};
  auto* a = std::get_if<Forward>(&*r);
  EXPECT_NE(a, nullptr);
  return a ? *a : Forward{};
}

std::string err(const std::string& s) {
  auto r = parse_api_request(s, defaults());
  EXPECT_FALSE(r.has_value()) << s;
  if (r) return "";
  EXPECT_EQ(r.error().rfind("bad request: ", 0), 0u) << r.error();
  return r.error();
}

TEST(ApiRequest, AddHostFwdLikeSlirp4netns) {
  auto a = add_ok(R"({"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"0.0.0.0",)"
                  R"("host_port":8080,"guest_addr":"10.0.2.100","guest_port":80}})" "\n");
  EXPECT_EQ(a.proto, Proto::Tcp);
  EXPECT_EQ(a.host_addr.to_string(), "0.0.0.0");
  EXPECT_EQ(a.host_port, 8080);
  EXPECT_EQ(a.guest_addr.to_string(), "10.0.2.100");
  EXPECT_EQ(a.guest_port, 80);
}

TEST(ApiRequest, AddHostFwdDefaults) {
  auto a = add_ok(R"({"execute":"add_hostfwd","arguments":{"proto":"udp","host_port":53,"guest_port":53}})");
  EXPECT_EQ(a.proto, Proto::Udp);
  EXPECT_EQ(a.host_addr.to_string(), "0.0.0.0");
  EXPECT_EQ(a.guest_addr.to_string(), "10.0.2.100");
  auto b = add_ok(R"({"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"","host_port":1,)"
                  R"("guest_addr":"","guest_port":2}})");
  EXPECT_EQ(b.host_addr.to_string(), "0.0.0.0");
  EXPECT_EQ(b.guest_addr.to_string(), "10.0.2.100");
  ApiDefaults d;
  d.guest_addr = *net::IpAddr::parse("10.1.0.100");
  auto r = parse_api_request(R"({"execute":"add_hostfwd","arguments":{"proto":"tcp","host_port":1,"guest_port":2}})", d);
  ASSERT_TRUE(r);
  EXPECT_EQ(std::get<Forward>(*r).guest_addr.to_string(), "10.1.0.100");
}

TEST(ApiRequest, AddHostFwdIpv6HostAddress) {
  auto a = add_ok(R"({"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"::","host_port":8080,"guest_port":80}})");
  EXPECT_TRUE(a.host_addr.is_v6());
}

TEST(ApiRequest, OtherRequests) {
  auto l = parse_api_request(R"({"execute":"list_hostfwd"})", defaults());
  ASSERT_TRUE(l);
  EXPECT_TRUE(std::holds_alternative<ListHostFwd>(*l));
  auto r = parse_api_request(R"({"execute":"remove_hostfwd","arguments":{"id":7}})", defaults());
  ASSERT_TRUE(r);
  EXPECT_EQ(std::get<RemoveHostFwd>(*r).id, 7u);
  EXPECT_TRUE(std::holds_alternative<ListFlows>(*parse_api_request(R"({"execute":"list_flows"})", defaults())));
  EXPECT_TRUE(std::holds_alternative<GetCounters>(*parse_api_request(R"({"execute":"get_counters"})", defaults())));
}

TEST(ApiRequest, MalformedJson) {
  EXPECT_NE(err("").find("invalid JSON"), std::string::npos);
  EXPECT_NE(err("{").find("invalid JSON"), std::string::npos);
  EXPECT_NE(err("{\"execute\":}").find("invalid JSON"), std::string::npos);
  EXPECT_NE(err("{} {}").find("invalid JSON"), std::string::npos);
  EXPECT_NE(err(std::string("{\"execute\":\"list_hostfwd\"\0}", 27)).find("invalid JSON"), std::string::npos);
  EXPECT_NE(err("[1,2]").find("JSON object"), std::string::npos);
  EXPECT_NE(err("\"add_hostfwd\"").find("JSON object"), std::string::npos);
}

TEST(ApiRequest, MissingAndMistypedFields) {
  EXPECT_NE(err("{}").find("missing \"execute\""), std::string::npos);
  EXPECT_NE(err(R"({"execute":1})").find("must be a string"), std::string::npos);
  EXPECT_NE(err(R"({"execute":"reboot"})").find("unknown execute \"reboot\""), std::string::npos);
  EXPECT_NE(err(R"({"execute":"add_hostfwd"})").find("arguments"), std::string::npos);
  EXPECT_NE(err(R"({"execute":"add_hostfwd","arguments":[]})").find("arguments"), std::string::npos);
  EXPECT_NE(err(R"({"execute":"add_hostfwd","arguments":{"host_port":1,"guest_port":2}})").find("missing proto"),
            std::string::npos);
  EXPECT_NE(err(R"({"execute":"add_hostfwd","arguments":{"proto":6,"host_port":1,"guest_port":2}})").find("proto"),
            std::string::npos);
  EXPECT_NE(err(R"({"execute":"add_hostfwd","arguments":{"proto":"sctp","host_port":1,"guest_port":2}})").find("proto"),
            std::string::npos);
  EXPECT_NE(err(R"({"execute":"add_hostfwd","arguments":{"proto":"tcp","guest_port":2}})").find("missing host_port"),
            std::string::npos);
  EXPECT_NE(err(R"({"execute":"add_hostfwd","arguments":{"proto":"tcp","host_port":"80","guest_port":2}})")
                .find("host_port must be an integer"),
            std::string::npos);
  EXPECT_NE(err(R"({"execute":"add_hostfwd","arguments":{"proto":"tcp","host_port":80.5,"guest_port":2}})")
                .find("integer"),
            std::string::npos);
  EXPECT_NE(err(R"({"execute":"add_hostfwd","arguments":{"proto":"tcp","host_port":0,"guest_port":2}})").find("range"),
            std::string::npos);
  EXPECT_NE(err(R"({"execute":"add_hostfwd","arguments":{"proto":"tcp","host_port":-1,"guest_port":2}})").find("range"),
            std::string::npos);
  EXPECT_NE(err(R"({"execute":"add_hostfwd","arguments":{"proto":"tcp","host_port":65536,"guest_port":2}})").find("range"),
            std::string::npos);
  EXPECT_NE(err(R"({"execute":"add_hostfwd","arguments":{"proto":"tcp","host_port":1}})").find("missing guest_port"),
            std::string::npos);
  EXPECT_NE(err(R"({"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":5,"host_port":1,"guest_port":2}})")
                .find("host_addr must be a string"),
            std::string::npos);
  EXPECT_NE(err(R"({"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"localhost","host_port":1,"guest_port":2}})")
                .find("not an IPv4 or IPv6"),
            std::string::npos);
  EXPECT_NE(err(R"({"execute":"add_hostfwd","arguments":{"proto":"tcp","guest_addr":{},"host_port":1,"guest_port":2}})")
                .find("guest_addr must be a string"),
            std::string::npos);
  EXPECT_NE(err(R"({"execute":"remove_hostfwd"})").find("arguments"), std::string::npos);
  EXPECT_NE(err(R"({"execute":"remove_hostfwd","arguments":{}})").find("missing id"), std::string::npos);
  EXPECT_NE(err(R"({"execute":"remove_hostfwd","arguments":{"id":"1"}})").find("integer"), std::string::npos);
  EXPECT_NE(err(R"({"execute":"remove_hostfwd","arguments":{"id":0}})").find("positive"), std::string::npos);
  EXPECT_NE(err(R"({"execute":"remove_hostfwd","arguments":{"id":-3}})").find("positive"), std::string::npos);
}

TEST(ApiRequest, HugeMessages) {
  std::string big = R"({"execute":"list_hostfwd","pad":")" + std::string(70000, 'a') + "\"}";
  EXPECT_NE(err(big).find("larger than 65536"), std::string::npos);
  std::string deep(60000, '[');
  EXPECT_FALSE(parse_api_request(deep, defaults()));
  std::string long_name = R"({"execute":")" + std::string(1000, 'x') + "\"}";
  EXPECT_LT(err(long_name).size(), 200u);
}

TEST(ApiRequest, Classify) {
  EXPECT_EQ(classify_request(""), RequestStatus::Incomplete);
  EXPECT_EQ(classify_request("  \n"), RequestStatus::Incomplete);
  EXPECT_EQ(classify_request(R"({"execute":)"), RequestStatus::Incomplete);
  EXPECT_EQ(classify_request(R"({"execute":"list_hostfwd"})"), RequestStatus::Complete);
  EXPECT_EQ(classify_request("{\"execute\":\"list_hostfwd\"}\n"), RequestStatus::Complete);
  EXPECT_EQ(classify_request("{]"), RequestStatus::Invalid);
  EXPECT_EQ(classify_request("hello"), RequestStatus::Invalid);
}

TEST(ApiReply, ErrorShapeIsEscaped) {
  auto j = nlohmann::json::parse(error_reply("bad request: \"quoted\" \xff"));
  EXPECT_EQ(j["error"]["desc"].get<std::string>().rfind("bad request: \"quoted\"", 0), 0u);
}

TEST(ForwardRegistry, IdsFromOneNeverReused) {
  ForwardRegistry reg;
  Forward a{0, Proto::Tcp, net::Ipv4Addr{}, 8080, net::Ipv4Addr::from_octets(10, 0, 2, 100), 80};
  auto f1 = reg.prepare(a);
  ASSERT_TRUE(f1);
  EXPECT_EQ(f1->id, 1u);
  reg.commit(*f1);
  auto dup = reg.prepare(a);
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().find("already forwarded (id 1)"), std::string::npos);
  a.proto = Proto::Udp;
  auto f2 = reg.prepare(a);
  ASSERT_TRUE(f2);
  EXPECT_EQ(f2->id, 2u);
  reg.commit(*f2);
  reg.erase(1);
  EXPECT_FALSE(reg.contains(1));
  a.proto = Proto::Tcp;
  auto f3 = reg.prepare(a);
  ASSERT_TRUE(f3);
  EXPECT_EQ(f3->id, 3u);
  reg.commit(*f3);
  auto list = nlohmann::json::parse(reg.list_reply());
  ASSERT_EQ(list["return"]["entries"].size(), 2u);
  EXPECT_EQ(list["return"]["entries"][0]["id"], 2);
  EXPECT_EQ(list["return"]["entries"][0]["proto"], "udp");
  EXPECT_EQ(list["return"]["entries"][1]["host_addr"], "0.0.0.0");
  EXPECT_EQ(list["return"]["entries"][1]["guest_addr"], "10.0.2.100");
  EXPECT_EQ(list["return"]["entries"][1]["guest_port"], 80);
}

// An add still waiting for its port blocks a second add of the same port;
// once abandoned, the port can be added again (with a new id).
TEST(ForwardRegistry, PendingAddIsADuplicateUntilAbandoned) {
  ForwardRegistry reg;
  Forward a{0, Proto::Tcp, net::Ipv4Addr{}, 8080, net::Ipv4Addr::from_octets(10, 0, 2, 100), 80};
  auto f1 = reg.prepare(a);
  ASSERT_TRUE(f1);
  auto dup = reg.prepare(a);
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().find("is being added (id 1)"), std::string::npos) << dup.error();
  EXPECT_FALSE(reg.contains(1));
  EXPECT_EQ(nlohmann::json::parse(reg.list_reply())["return"]["entries"].size(), 0u);
  reg.abandon(f1->id);
  auto f2 = reg.prepare(a);
  ASSERT_TRUE(f2);
  EXPECT_EQ(f2->id, 2u);
}

}  // namespace
}  // namespace netd::portfwd
