#include "portfwd/pesto_wire.h"

#include <algorithm>
#include <cstring>

#include "tap/wire/bytes.h"

namespace netd::portfwd::pesto {

namespace {

// Rule layout (offsets into its 56 bytes).
constexpr size_t kRuleAddrOff = 0;
constexpr size_t kRuleTargetOff = 16;
constexpr size_t kRuleIfnameOff = 32;
constexpr size_t kRuleFirstOff = 48;
constexpr size_t kRuleLastOff = 50;
constexpr size_t kRuleToOff = 52;
constexpr size_t kRuleProtoOff = 54;
constexpr size_t kRuleFlagsOff = 55;

constexpr uint8_t kFlagAnyAddress = 1;
constexpr uint8_t kFlagWeak = 2;
constexpr uint8_t kFlagScan = 4;
constexpr uint8_t kIpprotoTcp = 6;
constexpr uint8_t kIpprotoUdp = 17;

// A cursor over received bytes. Callers check has() before each read.
class Reader {
 public:
  explicit Reader(std::span<const std::byte> b) : b_(b) {}
  bool has(size_t n) const { return b_.size() - off_ >= n; }
  size_t offset() const { return off_; }
  uint8_t u8() { return wire::load_u8(b_, off_++); }
  uint32_t be32() {
    uint32_t v = wire::load_be32(b_, off_);
    off_ += 4;
    return v;
  }
  std::span<const std::byte> take(size_t n) {
    auto s = b_.subspan(off_, n);
    off_ += n;
    return s;
  }

 private:
  std::span<const std::byte> b_;
  size_t off_ = 0;
};

void put_u8(std::vector<std::byte>& out, uint8_t v) { out.push_back(static_cast<std::byte>(v)); }
void put_be32(std::vector<std::byte>& out, uint32_t v) {
  size_t at = out.size();
  out.resize(at + 4);
  wire::store_be32(out, at, v);
}
// `s` NUL-padded to `size` bytes (the caller keeps it shorter than `size`).
void put_padded(std::vector<std::byte>& out, const std::string& s, size_t size) {
  size_t at = out.size();
  out.resize(at + size);
  std::memcpy(out.data() + at, s.data(), std::min(s.size(), size - 1));
}

// A rule count and the rules.
void put_rules(std::vector<std::byte>& out, const std::vector<FwdRule>& rules) {
  put_be32(out, static_cast<uint32_t>(rules.size()));
  for (const auto& rule : rules) append_rule(out, rule);
}

std::array<uint8_t, 16> load_addr(std::span<const std::byte> b, size_t off) {
  std::array<uint8_t, 16> a{};
  std::memcpy(a.data(), b.data() + off, a.size());
  return a;
}

// A NUL-terminated name in a fixed field; false if the last byte is not NUL.
bool load_name(std::span<const std::byte> field, std::string& out) {
  if (field.back() != std::byte{0}) return false;
  const char* p = reinterpret_cast<const char*>(field.data());
  out.assign(p, ::strnlen(p, field.size()));
  return true;
}

template <class T>
Decoded<T> truncated() {
  return Decoded<T>{};
}
template <class T>
Decoded<T> malformed(std::string why) {
  Decoded<T> d;
  d.status = DecodeStatus::Malformed;
  d.error = std::move(why);
  return d;
}
template <class T>
Decoded<T> complete(T value, size_t size) {
  Decoded<T> d;
  d.status = DecodeStatus::Complete;
  d.value = std::move(value);
  d.size = size;
  return d;
}

// `count` rules from `r` into `rules`; Complete with size 0 on success.
Decoded<int> read_rules(Reader& r, uint32_t count, std::vector<FwdRule>& rules) {
  for (uint32_t i = 0; i < count; ++i) {
    if (!r.has(kRuleSize)) return truncated<int>();
    auto d = decode_rule(r.take(kRuleSize));
    if (d.status != DecodeStatus::Complete) return malformed<int>("rule " + std::to_string(i + 1) + ": " + d.error);
    rules.push_back(std::move(d.value));
  }
  return complete(0, 0);
}

}  // namespace

void append_rule(std::vector<std::byte>& out, const FwdRule& rule) {
  size_t at = out.size();
  out.resize(at + kRuleSize);
  std::span<std::byte> b(out.data() + at, kRuleSize);
  // An IpAddr's 16 bytes are the wire's form already (IPv4 as ::ffff:a.b.c.d).
  std::memcpy(b.data() + kRuleAddrOff, rule.addr.b.data(), rule.addr.b.size());
  std::memcpy(b.data() + kRuleTargetOff, rule.target.b.data(), rule.target.b.size());
  std::memcpy(b.data() + kRuleIfnameOff, rule.ifname.data(), std::min<size_t>(rule.ifname.size(), kIfnameSize - 1));
  wire::store_be16(b, kRuleFirstOff, rule.first);
  wire::store_be16(b, kRuleLastOff, rule.last);
  wire::store_be16(b, kRuleToOff, rule.to);
  wire::store_u8(b, kRuleProtoOff, rule.proto == Proto::Udp ? kIpprotoUdp : kIpprotoTcp);
  uint8_t flags = (rule.any_address ? kFlagAnyAddress : 0) | (rule.weak ? kFlagWeak : 0) | (rule.scan ? kFlagScan : 0);
  wire::store_u8(b, kRuleFlagsOff, flags);
}

Decoded<FwdRule> decode_rule(std::span<const std::byte> b) {
  if (b.size() < kRuleSize) return truncated<FwdRule>();
  FwdRule r;
  uint8_t proto = wire::load_u8(b, kRuleProtoOff);
  if (proto == kIpprotoTcp) {
    r.proto = Proto::Tcp;
  } else if (proto == kIpprotoUdp) {
    r.proto = Proto::Udp;
  } else {
    return malformed<FwdRule>("unsupported IP protocol " + std::to_string(proto));
  }
  uint8_t flags = wire::load_u8(b, kRuleFlagsOff);
  if (flags & ~(kFlagAnyAddress | kFlagWeak | kFlagScan))
    return malformed<FwdRule>("unknown rule flags " + std::to_string(flags));
  if (!load_name(b.subspan(kRuleIfnameOff, kIfnameSize), r.ifname))
    return malformed<FwdRule>("interface name is not NUL-terminated");
  r.addr = net::Ipv6Addr{load_addr(b, kRuleAddrOff)};
  r.target = net::Ipv6Addr{load_addr(b, kRuleTargetOff)};
  r.first = wire::load_be16(b, kRuleFirstOff);
  r.last = wire::load_be16(b, kRuleLastOff);
  r.to = wire::load_be16(b, kRuleToOff);
  r.any_address = flags & kFlagAnyAddress;
  r.weak = flags & kFlagWeak;
  r.scan = flags & kFlagScan;
  return complete(std::move(r), kRuleSize);
}

std::vector<std::byte> encode_server_message(const std::vector<PifTable>& tables) {
  std::vector<std::byte> out;
  out.reserve(kHelloSize + 1 + tables.size() * (1 + kPifInfoSize));
  for (char c : kMagic) put_u8(out, static_cast<uint8_t>(c));
  put_be32(out, kProtocolVersion);
  put_be32(out, kPifNameSize);
  put_be32(out, kIfnameSize);
  for (const auto& t : tables) {
    put_u8(out, t.pif);
    put_padded(out, t.name, kPifNameSize);
    put_be32(out, t.table.caps);
    put_rules(out, t.table.rules);
  }
  put_u8(out, kPifNone);
  return out;
}

Decoded<std::vector<PifTable>> decode_server_message(std::span<const std::byte> b) {
  using Result = std::vector<PifTable>;
  Reader r(b);
  if (!r.has(kHelloSize)) return truncated<Result>();
  auto magic = r.take(sizeof kMagic);
  if (std::memcmp(magic.data(), kMagic, sizeof kMagic) != 0)
    return malformed<Result>("bad magic number from the server (is this a pasta configuration socket?)");
  uint32_t version = r.be32();
  if (version == 0) return malformed<Result>("the server speaks an experimental protocol version (0)");
  if (version != kProtocolVersion)
    return malformed<Result>("the server speaks protocol version " + std::to_string(version) + ", this client " +
                             std::to_string(kProtocolVersion));
  uint32_t name_size = r.be32();
  if (name_size != kPifNameSize)
    return malformed<Result>("the server has pif name size " + std::to_string(name_size) + ", not " +
                             std::to_string(kPifNameSize));
  uint32_t ifnamsiz = r.be32();
  if (ifnamsiz != kIfnameSize)
    return malformed<Result>("the server has IFNAMSIZ " + std::to_string(ifnamsiz) + ", not " +
                             std::to_string(kIfnameSize));

  Result tables;
  for (;;) {
    if (!r.has(1)) return truncated<Result>();
    uint8_t pif = r.u8();
    if (pif == kPifNone) break;
    if (tables.size() >= kMaxTables)
      return malformed<Result>("the server has more than " + std::to_string(kMaxTables) + " tables");
    if (!r.has(kPifInfoSize)) return truncated<Result>();
    PifTable t;
    t.pif = pif;
    if (!load_name(r.take(kPifNameSize), t.name))
      return malformed<Result>("table name of pif " + std::to_string(pif) + " is not NUL-terminated");
    t.table.caps = r.be32();
    uint32_t count = r.be32();
    if (count > kMaxRules)
      return malformed<Result>("table " + t.name + " has " + std::to_string(count) + " rules (at most " +
                               std::to_string(kMaxRules) + ")");
    for (const auto& seen : tables) {
      if (seen.pif == pif) return malformed<Result>("pif " + std::to_string(pif) + " appears twice");
      if (seen.name == t.name) return malformed<Result>("table name " + t.name + " appears twice");
    }
    auto rules = read_rules(r, count, t.table.rules);
    if (rules.status == DecodeStatus::Truncated) return truncated<Result>();
    if (rules.status == DecodeStatus::Malformed) return malformed<Result>("table " + t.name + ", " + rules.error);
    tables.push_back(std::move(t));
  }
  return complete(std::move(tables), r.offset());
}

std::vector<std::byte> encode_client_message(const std::vector<PifTable>& tables) {
  std::vector<std::byte> out;
  for (const auto& t : tables) {
    put_u8(out, t.pif);
    put_rules(out, t.table.rules);
  }
  put_u8(out, kPifNone);
  return out;
}

Decoded<std::vector<PifRules>> decode_client_message(std::span<const std::byte> b) {
  using Result = std::vector<PifRules>;
  Reader r(b);
  Result update;
  for (;;) {
    if (!r.has(1)) return truncated<Result>();
    uint8_t pif = r.u8();
    if (pif == kPifNone) break;
    if (pif >= kPifCount) return malformed<Result>("rules for pif " + std::to_string(pif) + ", which does not exist");
    for (const auto& seen : update)
      if (seen.pif == pif) return malformed<Result>("rules for pif " + std::to_string(pif) + " twice");
    if (!r.has(4)) return truncated<Result>();
    uint32_t count = r.be32();
    if (count > kMaxRules)
      return malformed<Result>(std::to_string(count) + " rules for pif " + std::to_string(pif) + " (at most " +
                               std::to_string(kMaxRules) + ")");
    PifRules t;
    t.pif = pif;
    auto rules = read_rules(r, count, t.rules);
    if (rules.status == DecodeStatus::Truncated) return truncated<Result>();
    if (rules.status == DecodeStatus::Malformed)
      return malformed<Result>("pif " + std::to_string(pif) + ", " + rules.error);
    update.push_back(std::move(t));
  }
  return complete(std::move(update), r.offset());
}

DecodeStatus frame_client_message(std::span<const std::byte> b) {
  Reader r(b);
  for (size_t tables = 0;; ++tables) {
    if (!r.has(1)) return DecodeStatus::Truncated;
    uint8_t pif = r.u8();
    if (pif == kPifNone) return DecodeStatus::Complete;
    if (pif >= kPifCount || tables >= kMaxTables) return DecodeStatus::Malformed;
    if (!r.has(4)) return DecodeStatus::Truncated;
    uint32_t count = r.be32();
    if (count > kMaxRules) return DecodeStatus::Malformed;
    if (!r.has(count * kRuleSize)) return DecodeStatus::Truncated;
    r.take(count * kRuleSize);
  }
}

std::vector<PifTable> announce(const FwdTables& tables) {
  return {PifTable{kPifHost, "HOST", tables.inbound}, PifTable{kPifSplice, "SPLICE", tables.outbound}};
}

Expected<FwdTables, std::string> tables_from_update(const std::vector<PifRules>& update, const FwdTables& current) {
  FwdTables next;
  next.inbound.caps = current.inbound.caps;
  next.outbound.caps = current.outbound.caps;
  for (const auto& t : update) {
    FwdTable* table = t.pif == kPifHost ? &next.inbound : t.pif == kPifSplice ? &next.outbound : nullptr;
    if (!table) return unexpected("rules for pif " + std::to_string(t.pif) + ", which has no table");
    for (const auto& rule : t.rules) {
      auto added = table->add(rule);
      if (!added) return unexpected(added.error());
    }
  }
  return next;
}

}  // namespace netd::portfwd::pesto
