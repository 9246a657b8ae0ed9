// The containers.conf drop-in that makes Podman run netd, and the facts about
// Podman that `netd setup podman` and `netd doctor` reason with.
//
// Theory of operation: Podman reads containers.conf, then every *.conf file
// of the containers.conf.d directories in name order, later keys replacing
// earlier ones (system: /etc/containers/containers.conf.d/; user:
// $XDG_CONFIG_HOME/containers/containers.conf.d/, else ~/.config/...). netd
// owns exactly one file there, named kDropinName, whose first line is
// kDropinMarker: a file of that name without the marker belongs to someone
// else and is never written over or removed.
//
// The drop-in is the same for every Podman version, so it survives an
// upgrade from Podman 4 to 5:
//   helper_binaries_dir  netd's helper directory first (symlinks named pasta,
//                        aardvark-dns, slirp4netns, pesto), then Podman's own
//                        default list, because the key replaces the list
//                        rather than adding to it and Podman also finds
//                        netavark, rootlessport and conmon through it. Podman 5
//                        looks pasta up here before $PATH; netavark is handed
//                        the aardvark-dns it finds here.
//   network_cmd_path     netd's slirp4netns: Podman 4's default rootless
//                        network (and Podman 5's when slirp4netns is asked for).
// default_rootless_network_cmd is left alone: its default is slirp4netns on
// Podman 4 and pasta on Podman 5, and both names now lead to netd (Podman 4.3
// does not know the key at all).
//
// Everything here is pure: text in, text out; netd/cmd_setup.cpp and
// netd/cmd_doctor.cpp do the I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace netd::podman {

inline constexpr const char* kDropinName = "netd.conf";
inline constexpr std::string_view kDropinMarker = "# Written by `netd setup podman`";

// The helper names netd answers to when installed in a helper directory.
inline constexpr const char* kHelperNames[] = {"slirp4netns", "pasta", "pesto", "aardvark-dns"};

// Podman's default helper_binaries_dir (containers/common), kept after
// netd's own directory. "$BINDIR" is Podman 5's name for the directory of the
// podman binary; older versions look for a directory of that literal name,
// find nothing there and go on.
inline constexpr const char* kPodmanHelperDirs[] = {"$BINDIR", "/usr/local/libexec/podman", "/usr/local/lib/podman",
                                                    "/usr/libexec/podman", "/usr/lib/podman"};

// The drop-in's text for netd's helper directory (absolute path).
std::string dropin_text(const std::string& helpers_dir, std::string_view netd_version);

// True when `content` is a drop-in netd wrote (its first line is the marker).
bool is_netd_dropin(std::string_view content);

// A TOML basic string holding `s` ("..." with \\ \" and control characters escaped).
std::string toml_string(std::string_view s);

enum class Scope { User, System };

// The containers.conf.d directory for a scope. User: $XDG_CONFIG_HOME when it
// is an absolute path, else HOME/.config (as Podman finds it); nullopt when
// neither gives an absolute path.
std::optional<std::string> dropin_dir(Scope scope, const char* xdg_config_home, const char* home);

struct Version {
  int major = 0, minor = 0, patch = 0;
  std::string text;  // as printed ("4.3.1", "5.5.0-dev")
};
// `podman --version` output ("podman version 4.3.1\n"); nullopt when it is not that.
std::optional<Version> parse_podman_version(std::string_view out);

// What `podman info --format json` says about rootless networking.
struct InfoFacts {
  std::string rootless_network_cmd;  // host.rootlessNetworkCmd (Podman 5); empty on 4
  std::string slirp4netns_executable;
  std::string pasta_executable;       // empty before Podman 5
  bool rootless = false;              // host.security.rootless
};
// nullopt when `json` is not podman info's JSON.
std::optional<InfoFacts> parse_podman_info(std::string_view json);

// The network helper Podman spawns for a rootless container by default:
// rootlessNetworkCmd when info names it, else pasta from 5 on and slirp4netns
// before.
std::string rootless_network_mode(const Version& v, const InfoFacts& info);

}  // namespace netd::podman
