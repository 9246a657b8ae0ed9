// Fuzz target: common/net's text parsers (addresses, prefixes, numbers) and
// the DNS reverse-name reader built on them. Any input must either be
// refused or parse into a value whose canonical text parses back to the
// same value; never crash or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/net/endpoint.h"
#include "common/net/ip.h"
#include "common/parse_number.h"
#include "dns/reverse_name.h"

namespace {

template <class T>
void round_trip(std::string_view in) {
  auto v = T::parse(in);
  if (!v) return;
  auto again = T::parse(v->to_string());
  if (!again || !(*again == *v)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace netd;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  round_trip<net::Ipv4Addr>(in);
  round_trip<net::Ipv6Addr>(in);
  round_trip<net::Ipv4Cidr>(in);
  round_trip<net::Ipv6Cidr>(in);
  round_trip<net::IpAddr>(in);
  if (auto a = net::IpAddr::parse(in)) {
    // The socket address of any address comes back as the same endpoint.
    net::Endpoint e{*a, 53};
    if (net::endpoint_from(net::to_sockaddr(e).ss) != e) std::abort();
    if (dns::from_reverse_name(dns::reverse_name(*a)) != *a) std::abort();
  }
  if (auto r = dns::from_reverse_name(in); r && dns::reverse_name(*r) != in) std::abort();
  if (auto n = parse_decimal<uint16_t>(in); n && std::to_string(*n).size() > in.size()) std::abort();
  return 0;
}
