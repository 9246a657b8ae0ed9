// Fuzz target: dns/wire message parsing, name decoding, reply building, the
// query engine (with a fixed name table) and the cache, on arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <span>

#include "dns/engine.h"
#include "dns/wire/builder.h"
#include "dns/wire/message.h"

using namespace netd;
using namespace netd::dns;

namespace {
const NameTable& table() {
  static const NameTable t = [] {
    std::vector<std::string> w;
    std::vector<NetworkConfig> nets;
    nets.push_back(*parse_network_file("a", "10.1.0.1\nc1 10.1.0.2 fd01::2 web,www\n", w));
    return NameTable(std::move(nets));
  }();
  return t;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const std::byte> b(reinterpret_cast<const std::byte*>(data), size);
  if (auto v = wire::MessageView::parse(b)) {
    (void)v->header();
    (void)v->first_question();
    (void)v->max_udp_reply();
    v->for_each_record([&](const wire::Record& r) {
      (void)r.name.text();
      if (r.rtype == wire::type::PTR || r.rtype == wire::type::CNAME) (void)wire::decode_name(b, r.rdata_offset);
    });
    (void)Cache::cacheable_ttl(*v);
    Cache c;
    c.put(Time{}, "k", b);
    (void)c.get(Time{} + seconds(1), "k", *v, 512);
  }
  for (size_t off = 0; off < size && off < 64; ++off) (void)wire::decode_name(b, off);
  (void)wire::make_servfail(b);
  static Engine engine([] {
    EngineOptions o;
    o.default_upstreams = {{"127.0.0.1", 53}};
    return o;
  }());
  QueryInfo info{*net::IpAddr::parse("10.1.0.2"), *net::IpAddr::parse("10.1.0.1"), size % 2 == 0};
  auto d = engine.on_query(Time{}, table(), info, b);
  if (d.kind == Decision::Kind::Reply && !wire::MessageView::parse(d.reply) && d.reply.size() > 12) __builtin_trap();
  return 0;
}
