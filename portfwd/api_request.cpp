#include "portfwd/api_request.h"

#include <nlohmann/json.hpp>

namespace netd::portfwd {
namespace {

using nlohmann::json;

std::string bad(const std::string& what) { return "bad request: " + what; }

// An optional address field: missing, null or "" -> `dflt`.
Expected<net::IpAddr, std::string> address_field(const json& args, const char* name, const net::IpAddr& dflt) {
  auto it = args.find(name);
  if (it == args.end() || it->is_null()) return dflt;
  if (!it->is_string()) return unexpected(bad(std::string(name) + " must be a string"));
  const auto& s = it->get_ref<const std::string&>();
  if (s.empty()) return dflt;
  auto a = net::IpAddr::parse(s);
  if (!a) return unexpected(bad(std::string(name) + " '" + s + "' is not an IPv4 or IPv6 address"));
  return *a;
}

Expected<uint16_t, std::string> port_field(const json& args, const char* name) {
  auto it = args.find(name);
  if (it == args.end()) return unexpected(bad(std::string("missing ") + name));
  if (!it->is_number_integer()) return unexpected(bad(std::string(name) + " must be an integer"));
  if (it->is_number_unsigned()) {
    uint64_t v = it->get<uint64_t>();
    if (v >= 1 && v <= 65535) return static_cast<uint16_t>(v);
  } else {
    int64_t v = it->get<int64_t>();
    if (v >= 1 && v <= 65535) return static_cast<uint16_t>(v);
  }
  return unexpected(bad(std::string(name) + " out of range 1-65535"));
}

Expected<ApiRequest, std::string> parse_add(const json& req, const ApiDefaults& d) {
  auto it = req.find("arguments");
  if (it == req.end() || !it->is_object()) return unexpected(bad("add_hostfwd needs an \"arguments\" object"));
  const json& args = *it;
  Forward a;
  auto p = args.find("proto");
  if (p == args.end()) return unexpected(bad("missing proto"));
  if (!p->is_string()) return unexpected(bad("proto must be a string"));
  const auto& proto = p->get_ref<const std::string&>();
  if (proto == "tcp") a.proto = Proto::Tcp;
  else if (proto == "udp") a.proto = Proto::Udp;
  else return unexpected(bad("proto must be \"tcp\" or \"udp\""));
  auto host = address_field(args, "host_addr", net::IpAddr(net::Ipv4Addr{}));
  if (!host) return unexpected(host.error());
  a.host_addr = *host;
  auto hp = port_field(args, "host_port");
  if (!hp) return unexpected(hp.error());
  a.host_port = *hp;
  auto guest = address_field(args, "guest_addr", d.guest_addr);
  if (!guest) return unexpected(guest.error());
  a.guest_addr = *guest;
  auto gp = port_field(args, "guest_port");
  if (!gp) return unexpected(gp.error());
  a.guest_port = *gp;
  return ApiRequest{a};
}

Expected<ApiRequest, std::string> parse_remove(const json& req) {
  auto it = req.find("arguments");
  if (it == req.end() || !it->is_object()) return unexpected(bad("remove_hostfwd needs an \"arguments\" object"));
  auto id = it->find("id");
  if (id == it->end()) return unexpected(bad("missing id"));
  if (!id->is_number_integer()) return unexpected(bad("id must be an integer"));
  if (!id->is_number_unsigned() || id->get<uint64_t>() == 0) return unexpected(bad("id must be positive"));
  return ApiRequest{RemoveHostFwd{id->get<uint64_t>()}};
}

}  // namespace

Expected<ApiRequest, std::string> parse_api_request(std::string_view text, const ApiDefaults& d) {
  if (text.size() > d.max_size)
    return unexpected(bad("request larger than " + std::to_string(d.max_size) + " bytes"));
  json req = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (req.is_discarded()) return unexpected(bad("invalid JSON"));
  if (!req.is_object()) return unexpected(bad("a request is a JSON object"));
  auto ex = req.find("execute");
  if (ex == req.end()) return unexpected(bad("missing \"execute\""));
  if (!ex->is_string()) return unexpected(bad("\"execute\" must be a string"));
  const auto& name = ex->get_ref<const std::string&>();
  if (name == "add_hostfwd") return parse_add(req, d);
  if (name == "list_hostfwd") return ApiRequest{ListHostFwd{}};
  if (name == "remove_hostfwd") return parse_remove(req);
  if (name == "list_flows") return ApiRequest{ListFlows{}};
  if (name == "get_counters") return ApiRequest{GetCounters{}};
  std::string shown = name.size() > 64 ? name.substr(0, 64) + "..." : name;
  return unexpected(bad("unknown execute \"" + json(shown).get<std::string>() + "\""));
}

RequestStatus classify_request(std::string_view text) {
  bool blank = true;
  for (char c : text) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
      blank = false;
      break;
    }
  }
  if (blank) return RequestStatus::Incomplete;
  if (json::accept(text.begin(), text.end())) return RequestStatus::Complete;
  // Tell "ran out of input" from "wrong input": a SAX parser that remembers
  // where the error was.
  struct Sax : nlohmann::json_sax<json> {
    size_t error_at = 0;
    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t&) override { return true; }
    bool string(string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override { return true; }
    bool key(string_t&) override { return true; }
    bool end_object() override { return true; }
    bool start_array(std::size_t) override { return true; }
    bool end_array() override { return true; }
    bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception&) override {
      error_at = position;
      return false;
    }
  } sax;
  json::sax_parse(text.begin(), text.end(), &sax, nlohmann::detail::input_format_t::json, /*strict=*/true);
  return sax.error_at > text.size() ? RequestStatus::Incomplete : RequestStatus::Invalid;
}

std::string error_reply(std::string_view desc) {
  json j = {{"error", {{"desc", std::string(desc)}}}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace netd::portfwd
