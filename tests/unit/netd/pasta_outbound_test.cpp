// netd pasta -T/-U: the outbound table as pasta's spec parser builds it,
// expanded into the namespace listeners netd binds (netd/pasta_outbound.h).
#include "netd/pasta_outbound.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "portfwd/fwd_spec.h"

namespace netd {
namespace {

using portfwd::FwdCap;
using portfwd::Proto;

const net::IpAddr kLo4 = *net::IpAddr::parse("127.0.0.1");
const net::IpAddr kLo6 = *net::IpAddr::parse("::1");

portfwd::FwdTable outbound_of(const std::vector<std::pair<char, std::string>>& opts, uint32_t caps) {
  auto t = portfwd::build_pasta_tables(opts, caps);
  EXPECT_TRUE(t.has_value()) << (t ? "" : t.error());
  return t ? t->outbound : portfwd::FwdTable{};
}

constexpr uint32_t kBoth = FwdCap::kTcp | FwdCap::kUdp | FwdCap::kScan | FwdCap::kIpv4 | FwdCap::kIpv6;

TEST(PastaOutbound, DefaultAutoBecomesNone) {
  auto t = outbound_of({}, kBoth);
  ASSERT_FALSE(t.rules.empty());  // pasta's default: -T auto -U auto
  EXPECT_TRUE(drop_outbound_auto(t));
  EXPECT_TRUE(t.rules.empty());
  EXPECT_EQ(t.caps, 0u);
  auto plan = plan_outbound(t, true, true);
  ASSERT_TRUE(plan);
  EXPECT_TRUE(plan->empty());
}

TEST(PastaOutbound, ExplicitRulesStayAfterAutoIsDropped) {
  auto t = outbound_of({{'T', "8080"}, {'U', "none"}}, kBoth);
  EXPECT_FALSE(drop_outbound_auto(t));  // -T given, -U none: no 'auto' left
  EXPECT_NE(t.caps, 0u);
  auto plan = plan_outbound(t, true, true);
  ASSERT_TRUE(plan) << plan.error();
  std::vector<OutboundListener> want = {{Proto::Tcp, kLo4, 8080, kLo4, 8080}, {Proto::Tcp, kLo6, 8080, kLo6, 8080}};
  EXPECT_EQ(*plan, want);
}

TEST(PastaOutbound, RangeMappingAndExclusionsPerFamily) {
  // Without interface binding the parser makes one rule per loopback address.
  auto t = outbound_of({{'T', "3000-3003:4000-4003,~3001"}, {'U', "53:5353"}}, kBoth);
  auto plan = plan_outbound(t, true, false);  // a stack without IPv6
  ASSERT_TRUE(plan) << plan.error();
  std::vector<OutboundListener> want = {{Proto::Tcp, kLo4, 3000, kLo4, 4000},
                                        {Proto::Tcp, kLo4, 3002, kLo4, 4002},
                                        {Proto::Tcp, kLo4, 3003, kLo4, 4003},
                                        {Proto::Udp, kLo4, 53, kLo4, 5353}};
  EXPECT_EQ(*plan, want);
}

TEST(PastaOutbound, InterfaceBoundRuleListensOnBothLoopbacks) {
  auto t = outbound_of({{'T', "22"}, {'U', "none"}}, kBoth | FwdCap::kIfname);
  ASSERT_EQ(t.rules.size(), 1u);
  EXPECT_TRUE(t.rules[0].any_address);
  EXPECT_EQ(t.rules[0].ifname, "lo");
  auto plan = plan_outbound(t, true, true);
  ASSERT_TRUE(plan) << plan.error();
  std::vector<OutboundListener> want = {{Proto::Tcp, kLo4, 22, kLo4, 22}, {Proto::Tcp, kLo6, 22, kLo6, 22}};
  EXPECT_EQ(*plan, want);
  plan = plan_outbound(t, false, true);
  ASSERT_TRUE(plan);
  ASSERT_EQ(plan->size(), 1u);
  EXPECT_EQ((*plan)[0].listen, kLo6);
}

TEST(PastaOutbound, TargetAddressIsKept) {
  auto t = outbound_of({{'T', "8080:127.0.0.2/80"}, {'U', "none"}}, FwdCap::kTcp | FwdCap::kUdp | FwdCap::kScan | FwdCap::kIpv4);
  auto plan = plan_outbound(t, true, false);
  ASSERT_TRUE(plan) << plan.error();
  ASSERT_EQ(plan->size(), 1u);
  EXPECT_EQ((*plan)[0].target, *net::IpAddr::parse("127.0.0.2"));
  EXPECT_EQ((*plan)[0].target_port, 80);
}

TEST(PastaOutbound, BestEffortAndOversizedTablesAreRefused) {
  auto all = outbound_of({{'T', "all"}, {'U', "none"}}, kBoth);
  auto plan = plan_outbound(all, true, true);
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.error().find("named ports"), std::string::npos) << plan.error();
  auto big = outbound_of({{'T', "1000-1199"}, {'U', "none"}}, kBoth);  // 200 ports x 2 families
  plan = plan_outbound(big, true, true);
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.error().find("at most"), std::string::npos) << plan.error();
  EXPECT_TRUE(plan_outbound(big, true, false));  // 200 sockets: within the limit
}

}  // namespace
}  // namespace netd
