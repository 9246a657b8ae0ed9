#include "dns/engine.h"

#include "dns/reverse_name.h"
#include "dns/wire/builder.h"

namespace netd::dns {

using namespace wire;

std::string normalize_domain(std::string_view d) {
  while (!d.empty() && d.front() == '.') d.remove_prefix(1);
  while (!d.empty() && d.back() == '.') d.remove_suffix(1);
  std::string o(d);
  for (char& c : o)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return o;
}

Engine::Engine(EngineOptions o) : opts_(std::move(o)) { opts_.search_domain = normalize_domain(opts_.search_domain); }

std::optional<std::string> Engine::strip_search(const std::string& lower) const {
  const std::string& d = opts_.search_domain;
  if (d.empty()) return std::nullopt;
  if (lower == d) return std::string();
  if (lower.size() > d.size() + 1 && lower.compare(lower.size() - d.size(), d.size(), d) == 0 &&
      lower[lower.size() - d.size() - 1] == '.')
    return lower.substr(0, lower.size() - d.size() - 1);
  return std::nullopt;
}

Decision Engine::reply(std::vector<std::byte> b, const char* why) {
  Decision d;
  d.kind = Decision::Kind::Reply;
  d.reply = std::move(b);
  d.why = why;
  return d;
}

Decision Engine::on_query(Time now, const NameTable& table, const QueryInfo& info,
                          std::span<const std::byte> query) {
  ++stats_.queries;
  auto parsed = MessageView::parse(query);
  if (!parsed) {
    // Answer FORMERR when at least the header is there and it is a query.
    if (query.size() < kHeaderSize || (std::to_integer<unsigned>(query[2]) & 0x80)) {
      ++stats_.dropped;
      return {};
    }
    ++stats_.errors;
    std::vector<std::byte> r(query.begin(), query.begin() + kHeaderSize);
    r[2] = static_cast<std::byte>((std::to_integer<unsigned>(r[2]) & 0x79) | 0x80);   // QR, opcode, RD
    r[3] = static_cast<std::byte>(0x80 | static_cast<unsigned>(Rcode::FormErr));
    for (size_t i = 4; i < kHeaderSize; ++i) r[i] = std::byte{0};
    return reply(std::move(r), "formerr");
  }
  const MessageView& q = *parsed;
  const Header h = q.header();
  if (h.qr()) {
    ++stats_.dropped;
    return {};
  }
  if (h.opcode() != 0) {
    ++stats_.errors;
    return reply(make_error_reply(q, Rcode::NotImp), "notimp");
  }
  auto question = q.first_question();
  if (!question || h.qdcount != 1) {
    ++stats_.errors;
    return reply(make_error_reply(q, Rcode::FormErr), "formerr");
  }
  const size_t max_size = info.tcp ? 65535 : q.max_udp_reply();
  const auto nets = table.scope(info.source, info.listen);
  const std::string name = question->name.lower_text();
  const auto stripped = strip_search(name);
  const uint16_t qtype = question->qtype;

  if (question->qclass == kClassIN || question->qclass == 255) {
    // Local names: "ctr" or "ctr.dns.podman".
    const std::string& local = stripped ? *stripped : name;
    if (!local.empty()) {
      auto found = table.lookup(nets, local);
      if (found.found) {
        ReplyBuilder b(q, max_size);
        b.set_authoritative(true);
        if (qtype == type::A || qtype == type::ANY)
          for (const auto& a : found.v4) b.add_a(opts_.ttl, a.v4().octets());
        if (qtype == type::AAAA || qtype == type::ANY)
          for (const auto& a : found.v6) b.add_aaaa(opts_.ttl, a.b);
        ++stats_.local;
        return reply(b.finish(), "local");
      }
    }
    if (qtype == type::PTR) {
      if (auto addr = from_reverse_name(name)) {
        auto names = table.reverse(nets, *addr);
        if (!names.empty()) {
          ReplyBuilder b(q, max_size);
          b.set_authoritative(true);
          for (const auto& n : names) {
            std::string fqdn = opts_.search_domain.empty() ? n : n + "." + opts_.search_domain;
            if (auto target = Name::from_text(fqdn)) b.add_ptr(opts_.ttl, *target);
          }
          ++stats_.local;
          return reply(b.finish(), "local-ptr");
        }
      }
    }
  }
  if (stripped || table.all_internal(nets)) {
    ++stats_.nxdomain;
    return reply(make_error_reply(q, Rcode::NxDomain, true), stripped ? "nxdomain-search" : "nxdomain-internal");
  }

  Decision d;
  d.upstreams = table.upstreams_for(nets, info.source);
  if (d.upstreams.empty()) d.upstreams = opts_.default_upstreams;
  if (d.upstreams.empty()) {
    ++stats_.errors;
    return reply(make_error_reply(q, Rcode::ServFail), "no-upstreams");
  }
  if (opts_.cache) {
    // Built on every forwarded query (the cache-hit hot path): one buffer, no temporaries.
    std::string key;
    key.reserve(48 * d.upstreams.size() + name.size() + 24);
    for (const auto& u : d.upstreams) {
      key += u.addr;
      key += ':';
      key += std::to_string(u.port);
      key += ',';
    }
    key += '|';
    key += name;
    key += '|';
    key += std::to_string(qtype);
    key += '|';
    key += std::to_string(question->qclass);
    key += '|';
    if (q.has_opt()) key += q.opt_do() ? "do" : "e";
    if (!h.rd()) key += "|nord";
    if (auto hit = cache_.get(now, key, q, max_size)) {
      ++stats_.cache_hits;
      return reply(std::move(*hit), "cache");
    }
    d.cache_key = std::move(key);
  }
  ++stats_.forwarded;
  d.kind = Decision::Kind::Forward;
  d.why = "forward";
  return d;
}

void Engine::on_upstream_reply(Time now, const std::string& cache_key, std::span<const std::byte> reply) {
  if (opts_.cache && !cache_key.empty()) cache_.put(now, cache_key, reply);
}

}  // namespace netd::dns
