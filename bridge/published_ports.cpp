#include "bridge/published_ports.h"

#include <nlohmann/json.hpp>

#include "portfwd/api_client.h"
#include "portfwd/port_spec.h"

namespace netd::bridge {

namespace {

using nlohmann::json;

// Sends `request`; returns the "return" member of the reply, or the error.
Expected<json, std::string> call(const Paths& p, const std::string& request) {
  auto reply = portfwd::api_call(p.attach_socket(), request);
  if (!reply)
    return unexpected("the rootless netns' outward engine does not answer (" + reply.error() + "; see " +
                      p.attach_log() + ")");
  json j = json::parse(*reply, nullptr, false);
  if (j.is_object()) {
    if (auto r = j.find("return"); r != j.end()) return *r;
    if (auto e = j.find("error"); e != j.end() && e->is_object())
      return unexpected(e->value("desc", std::string("error without a description")));
  }
  return unexpected("unexpected reply from the outward engine: " + reply->substr(0, 200));
}

}  // namespace

Expected<std::vector<PublishedPort>, std::string> parse_publish(const std::vector<std::string>& specs) {
  auto maps = portfwd::parse_port_specs(specs);
  if (!maps) return unexpected(maps.error());
  std::vector<PublishedPort> out;
  for (const auto& m : *maps) {
    PublishedPort p;
    p.proto = portfwd::proto_name(m.proto);
    p.host_ip = m.host_addr.to_string();
    p.host_port = m.host_port;
    p.container_port = m.guest_port;
    out.push_back(std::move(p));
  }
  return out;
}

std::string add_forward_request(const PublishedPort& port) {
  json args{{"proto", port.proto},
            {"host_addr", port.host_ip},
            {"host_port", port.host_port},
            {"guest_addr", ""},  // the engine's guest: the rootless netns itself
            {"guest_port", port.host_port}};
  return json{{"execute", "add_hostfwd"}, {"arguments", std::move(args)}}.dump();
}

std::string remove_forward_request(uint64_t id) {
  return json{{"execute", "remove_hostfwd"}, {"arguments", {{"id", id}}}}.dump();
}

Expected<uint64_t, std::string> add_forward(const Paths& p, const PublishedPort& port) {
  auto r = call(p, add_forward_request(port));
  if (!r) return unexpected(r.error());
  if (!r->is_object() || !r->contains("id") || !(*r)["id"].is_number_unsigned())
    return unexpected("add_hostfwd answered without an id: " + r->dump());
  return (*r)["id"].get<uint64_t>();
}

Expected<void, std::string> remove_forward(const Paths& p, uint64_t id) {
  auto r = call(p, remove_forward_request(id));
  if (!r) return unexpected(r.error());
  return {};
}

Expected<std::vector<uint64_t>, std::string> list_forwards(const Paths& p) {
  auto r = call(p, R"({"execute":"list_hostfwd"})");
  if (!r) return unexpected(r.error());
  std::vector<uint64_t> ids;
  if (r->is_object()) {
    if (auto e = r->find("entries"); e != r->end() && e->is_array())
      for (const auto& x : *e)
        if (x.is_object() && x.contains("id") && x["id"].is_number_unsigned()) ids.push_back(x["id"].get<uint64_t>());
  }
  return ids;
}

}  // namespace netd::bridge
