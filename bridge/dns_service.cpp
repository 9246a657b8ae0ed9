#include "bridge/dns_service.h"

#include <signal.h>
#include <unistd.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "bridge/dns_registration.h"
#include "bridge/rootless_netns.h"
#include "bridge/spawn.h"
#include "common/daemon.h"
#include "common/log.h"

namespace netd::bridge {

namespace {

struct DnsRecord {
  pid_t pid = 0;
  unsigned long long start_time = 0;
};

std::optional<DnsRecord> load_record(const Paths& p) {
  auto text = read_file(p.dns_record());
  if (!text) return std::nullopt;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  DnsRecord r;
  r.pid = j.value("pid", pid_t{0});
  r.start_time = j.value("start_time", 0ull);
  return r;
}

uint64_t read_number(const std::string& path) {
  auto text = read_file(path);
  uint64_t n = 0;
  if (text) std::from_chars(text->data(), text->data() + text->size(), n);
  return n;
}

std::optional<DnsRecord> live_server(const Paths& p) {
  auto r = load_record(p);
  if (r && is_live_process(r->pid, r->start_time)) return r;
  return std::nullopt;
}

Expected<void, std::string> start_server(const Paths& p, const RootlessNetns& rn) {
  ::unlink(p.dns_pid_file().c_str());
  SpawnOptions so;
  // The outward engine's DNS forwarder answers UDP only.
  so.args = {"dns",        "--netd-config", p.config_dir, "--netd-runtime",      p.runtime_dir, "--port",
             "53",         "--upstream",    kOutwardDns,  "--upstream-udp-only", "--log-file",  p.dns_log(),
             "run"};
  so.log_path = p.dns_log();
  so.join_holder = rn.pid;
  auto pid = spawn_netd(so);
  if (!pid) return unexpected(pid.error());
  // The daemon's parent exits once the server listens (or failed).
  auto rc = wait_child(*pid, 10000);
  if (!rc) {
    kill_process(*pid);
    return unexpected("the DNS server did not start within 10 s (see " + p.dns_log() + ")");
  }
  if (*rc != 0)
    return unexpected("the DNS server failed to start (exit " + std::to_string(*rc) + ", see " + p.dns_log() + ")");
  pid_t server = read_pid_file(p.dns_pid_file()).value_or(0);
  auto st = server > 0 ? process_start_time(server) : std::nullopt;
  if (!st) return unexpected("the DNS server exited right after starting (see " + p.dns_log() + ")");
  nlohmann::json j{{"pid", server}, {"start_time", *st}};
  LOG_DEBUG("DNS server started in the rootless netns (pid %d)", static_cast<int>(server));
  return write_file_atomic(p.dns_record(), j.dump(2) + "\n");
}

Expected<void, std::string> reload_server(const Paths& p, const DnsRecord& r) {
  uint64_t want = read_number(p.dns_reload_request()) + 1;
  if (auto w = write_file_atomic(p.dns_reload_request(), std::to_string(want)); !w) return w;
  if (::kill(r.pid, SIGHUP) != 0) return unexpected(std::string("cannot signal the DNS server: ") + std::strerror(errno));
  for (int waited = 0; waited < 5000; waited += 5) {
    if (read_number(p.dns_reload_done()) >= want) return {};
    if (!is_live_process(r.pid, r.start_time)) break;
    ::usleep(5000);
  }
  return unexpected("the DNS server did not confirm the reload (see " + p.dns_log() + ")");
}

}  // namespace

Expected<void, std::string> sync_dns(const Paths& p, const RootlessNetns& rn) {
  std::vector<std::string> warnings;
  auto cfgs = load_dns_configs(p, warnings);
  if (!cfgs) return unexpected(cfgs.error());
  if (cfgs->empty()) {
    stop_dns(p);
    return {};
  }
  if (auto r = live_server(p)) return reload_server(p, *r);
  return start_server(p, rn);
}

void stop_dns(const Paths& p) {
  if (auto r = live_server(p)) {
    // Wait for it to go: on its way out it removes dns.pid, which must not
    // happen after a successor wrote its own.
    ::kill(r->pid, SIGTERM);
    for (int waited = 0; waited < 1000 && is_live_process(r->pid, r->start_time); waited += 5) ::usleep(5000);
    if (is_live_process(r->pid, r->start_time)) kill_process(r->pid);
    LOG_DEBUG("stopped the DNS server (pid %d)", static_cast<int>(r->pid));
  }
  ::unlink(p.dns_record().c_str());
}

uint64_t dns_reload_requested(const Paths& p) { return read_number(p.dns_reload_request()); }

void dns_reload_applied(const Paths& p, uint64_t request) {
  (void)write_file_atomic(p.dns_reload_done(), std::to_string(request));
}

}  // namespace netd::bridge
