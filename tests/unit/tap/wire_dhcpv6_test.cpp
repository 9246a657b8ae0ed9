// DHCPv6 (stateless) view and reply builder with fixed bytes.
#include <gtest/gtest.h>

#include <vector>

#include "tap/wire/dhcpv6.h"
#include "wire_frames.h"

namespace netd::wire {
namespace {

using testdata::bytes;
using testdata::vec;

// An Information-request as a stateless client sends it (RFC 8415 18.2.6):
// transaction 0x3a2b1c, Client ID (DUID-LL, Ethernet, 52:54:00:12:34:56),
// Option Request (DNS servers 23, domain list 24), Elapsed Time 0.
constexpr uint8_t kInfoRequest[] = {
    0x0b, 0x3a, 0x2b, 0x1c,                                                  // type 11, xid
    0x00, 0x01, 0x00, 0x0a, 0x00, 0x03, 0x00, 0x01,                          // client id: DUID-LL
    0x52, 0x54, 0x00, 0x12, 0x34, 0x56,                                      //
    0x00, 0x06, 0x00, 0x04, 0x00, 0x17, 0x00, 0x18,                          // ORO: 23, 24
    0x00, 0x08, 0x00, 0x02, 0x00, 0x00,                                      // elapsed time
};

TEST(WireDhcpv6, DecodesInformationRequest) {
  auto m = Dhcpv6View::parse(bytes(kInfoRequest));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->msg_type(), kDhcpv6InformationRequest);
  EXPECT_EQ(m->transaction_id(), 0x3a2b1cu);
  auto cid = m->option(kDhcpv6OptClientId);
  ASSERT_TRUE(cid);
  EXPECT_EQ(cid->size(), 10u);
  auto oro = m->option(kDhcpv6OptOro);
  ASSERT_TRUE(oro);
  EXPECT_EQ(vec(*oro), (std::vector<std::byte>{std::byte{0}, std::byte{23}, std::byte{0}, std::byte{24}}));
  EXPECT_FALSE(m->option(kDhcpv6OptServerId));
}

TEST(WireDhcpv6, EveryTruncationRejected) {
  auto b = bytes(kInfoRequest);
  // Cuts inside the fixed part are Truncated; inside an option, Malformed;
  // cuts exactly between options leave a shorter valid message.
  for (size_t n = 0; n < b.size(); ++n) {
    auto r = Dhcpv6View::parse(b.first(n));
    if (n < 4) {
      EXPECT_EQ(r.error(), WireError::Truncated) << n;
    } else if (n == 4 || n == 18 || n == 26) {
      EXPECT_TRUE(r) << n;
    } else {
      EXPECT_EQ(r.error(), WireError::Malformed) << n;
    }
  }
}

TEST(WireDhcpv6, RelayMessagesUnsupported) {
  auto v = vec(bytes(kInfoRequest));
  v[0] = std::byte{kDhcpv6RelayForward};
  EXPECT_EQ(Dhcpv6View::parse(v).error(), WireError::Unsupported);
}

TEST(WireDhcpv6, ReplyBuilderBytes) {
  Dhcpv6Reply r(kDhcpv6Reply, 0x3a2b1c);
  const uint8_t dns[] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3};
  Ipv6Addr a;
  std::copy(std::begin(dns), std::end(dns), a.b.begin());
  r.add_addrs(kDhcpv6OptDnsServers, std::span(&a, 1));
  r.add_u32(kDhcpv6OptInfoRefreshTime, 86400);
  const uint8_t want[] = {0x07, 0x3a, 0x2b, 0x1c,                                      //
                          0x00, 0x17, 0x00, 0x10, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  //
                          0, 0, 0, 3,                                                  //
                          0x00, 0x20, 0x00, 0x04, 0x00, 0x01, 0x51, 0x80};
  EXPECT_EQ(r.bytes(), vec(bytes(want)));
  auto back = Dhcpv6View::parse(r.bytes());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->transaction_id(), 0x3a2b1cu);
  EXPECT_EQ(back->option(kDhcpv6OptDnsServers)->size(), 16u);
}

}  // namespace
}  // namespace netd::wire
