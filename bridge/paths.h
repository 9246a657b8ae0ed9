// Where bridge networks keep their files.
//
// Config (network definitions, NAME.json): $NETD_CONFIG_DIR, else
// $XDG_CONFIG_HOME/netd/networks, else ~/.config/netd/networks.
// Runtime state (lock, leases, rootless netns record, helper logs and sockets):
// $NETD_RUNTIME_DIR, else $XDG_RUNTIME_DIR/netd, else /tmp/netd-UID.
// The functions only compute paths; ensure_dir() creates one (mode 0700).
#pragma once

#include <string>

#include "common/expected.h"
#include "common/files.h"  // read_file, write_file_atomic: the bridge keeps its records with them

namespace netd::bridge {

struct Paths {
  std::string config_dir;
  std::string runtime_dir;

  std::string network_file(const std::string& name) const { return config_dir + "/" + name + ".json"; }
  std::string lock_file() const { return runtime_dir + "/lock"; }
  std::string state_dir() const { return runtime_dir + "/networks"; }
  std::string state_file(const std::string& name) const { return state_dir() + "/" + name + ".json"; }
  std::string netns_record() const { return runtime_dir + "/rootless-netns.json"; }
  // The outward engine (netd slirp4netns) of the rootless netns.
  std::string attach_log() const { return runtime_dir + "/attach.log"; }
  std::string attach_socket() const { return runtime_dir + "/attach.sock"; }
  // The embedded DNS server in the rootless netns (dns_service.h).
  std::string dns_record() const { return runtime_dir + "/dns.json"; }
  std::string dns_pid_file() const { return runtime_dir + "/dns.pid"; }
  std::string dns_log() const { return runtime_dir + "/dns.log"; }
  std::string dns_reload_request() const { return runtime_dir + "/dns.reload"; }
  std::string dns_reload_done() const { return runtime_dir + "/dns.applied"; }
};

// Reads the environment (see above).
Paths default_paths();

// mkdir -p with mode 0700 for the components it creates. Returns an error line.
Expected<void, std::string> ensure_dir(const std::string& dir);

}  // namespace netd::bridge
