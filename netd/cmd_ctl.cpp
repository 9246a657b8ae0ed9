// `netd ctl`: a small client for the control API socket (netd's own, or
// `netd slirp4netns --api-socket`). Sends one JSON request, shuts down its
// write side, prints the reply. Exit 0 for {"return":...}, 1 for
// {"error":...}, 2 for bad arguments or when the socket cannot be reached.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "netd/commands.h"
#include "portfwd/api_client.h"

namespace netd::cmd {

int ctl(int argc, char** argv) {
  CLI::App app{"", "netd ctl"};
  app.description(
      "Send one JSON request to a netd API socket and print the reply. Requests:\n"
      "  {\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"tcp\",\"host_addr\":\"0.0.0.0\",\n"
      "     \"host_port\":8080,\"guest_addr\":\"10.0.2.100\",\"guest_port\":80}}\n"
      "  {\"execute\":\"list_hostfwd\"}\n"
      "  {\"execute\":\"remove_hostfwd\",\"arguments\":{\"id\":1}}\n"
      "  {\"execute\":\"list_flows\"}    {\"execute\":\"get_counters\"}");
  std::string path, request;
  unsigned timeout = 10;
  app.add_option("-s,--socket", path, "the API socket")->required();
  app.add_option("request", request, "the JSON request")->required();
  app.add_option("--timeout", timeout, "seconds to wait for the reply")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto reply = portfwd::api_call(path, request, timeout);
  if (!reply) {
    std::fprintf(stderr, "netd ctl: %s\n", reply.error().c_str());
    return 2;
  }
  std::printf("%s\n", reply->c_str());
  return reply->rfind("{\"return\"", 0) == 0 ? 0 : 1;
}

}  // namespace netd::cmd
