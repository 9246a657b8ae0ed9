#include "netd/doctor_checks.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace netd::doctor {

namespace {

constexpr const char* kKeepSysctl = " (and in a file under /etc/sysctl.d/ to keep it)";

std::string who(const HostFacts& f) {
  return f.user.empty() ? "uid " + std::to_string(f.uid) : f.user;
}

std::optional<unsigned long long> parse_number(std::string_view s) {
  unsigned long long v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

Check make(Status st, const char* name, std::string message, std::string fix = {}) {
  return Check{st, name, std::move(message), std::move(fix)};
}

Check check_tun(const HostFacts& f) {
  if (f.tun.ok()) return make(Status::Ok, "tun", "/dev/net/tun opens read-write");
  if (f.tun.err == ENOENT || f.tun.err == ENODEV || f.tun.err == ENXIO)
    return make(Status::Fail, "tun", "no TUN/TAP device: " + f.tun.message,
                "sudo modprobe tun (and list it in /etc/modules-load.d/ to keep it)");
  if (f.tun.err == EACCES || f.tun.err == EPERM)
    return make(Status::Fail, "tun", "/dev/net/tun is not open to " + who(f) + ": " + f.tun.message,
                "sudo chmod 0666 /dev/net/tun, its usual mode (a udev rule KERNEL==\"tun\", MODE=\"0666\" keeps it)");
  return make(Status::Fail, "tun", "cannot open /dev/net/tun: " + f.tun.message,
              "in a container: give it the device (podman/docker run --device /dev/net/tun)");
}

Check check_subids(const HostFacts& f, bool gids) {
  const char* name = gids ? "subgid" : "subuid";
  const char* file = gids ? "/etc/subgid" : "/etc/subuid";
  const char* flag = gids ? "--add-subgids" : "--add-subuids";
  if (f.uid == 0) return make(Status::Ok, name, "root needs no subordinate ids");
  const auto& text = gids ? f.subgid : f.subuid;
  SubidSummary s = summarize_subids(text ? *text : std::string_view(), f.user, f.uid);
  const std::string what = gids ? "group ids" : "user ids";
  if (s.count >= 65536)
    return make(Status::Ok, name, who(f) + " has " + std::to_string(s.count) + " subordinate " + what + " from " +
                                      std::to_string(s.first) + " (" + file + ")");
  unsigned long long start = std::max<unsigned long long>(100000, s.free_from);
  std::string fix = "sudo usermod " + std::string(flag) + " " + std::to_string(start) + "-" +
                    std::to_string(start + 65535) + " " + (f.user.empty() ? std::to_string(f.uid) : f.user);
  std::string found = s.count == 0 ? "no subordinate " + what + " for " + who(f) + " in " + file
                                   : "only " + std::to_string(s.count) + " subordinate " + what + " for " + who(f) +
                                         " in " + file;
  return make(Status::Warn, name,
              found + ": rootless Podman maps only your own id (images with files of other owners fail)", fix);
}

Check check_uidmap(const HostFacts& f) {
  if (f.uid == 0) return make(Status::Ok, "uidmap", "root maps ids without newuidmap/newgidmap");
  if (!f.newuidmap.found || !f.newgidmap.found)
    return make(Status::Warn, "uidmap", "newuidmap/newgidmap not found: rootless Podman cannot use subordinate ids",
                "sudo apt install uidmap");
  if (!f.newuidmap.privileged || !f.newgidmap.privileged)
    return make(Status::Warn, "uidmap", "newuidmap/newgidmap are neither setuid root nor given capabilities",
                "reinstall them (sudo apt install --reinstall uidmap)");
  return make(Status::Ok, "uidmap", "newuidmap and newgidmap are installed with privileges");
}

Check check_userns(const HostFacts& f) {
  if (f.userns.ok())
    return make(Status::Ok, "userns", who(f) + " can create and configure user + network namespaces");
  std::string msg = "cannot create a user + network namespace: " + f.userns.message;
  if (f.uid != 0 && f.unprivileged_userns_clone == "0")
    return make(Status::Fail, "userns", msg + " (kernel.unprivileged_userns_clone=0)",
                std::string("sudo sysctl -w kernel.unprivileged_userns_clone=1") + kKeepSysctl);
  if (f.max_user_namespaces == "0")
    return make(Status::Fail, "userns", msg + " (user.max_user_namespaces=0)",
                std::string("sudo sysctl -w user.max_user_namespaces=65536") + kKeepSysctl);
  if (f.uid != 0 && f.apparmor_restrict_unprivileged_userns == "1")
    return make(Status::Fail, "userns", msg + " (kernel.apparmor_restrict_unprivileged_userns=1)",
                std::string("sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0") + kKeepSysctl +
                    ", or an AppArmor profile that grants userns to netd and podman");
  return make(Status::Fail, "userns", msg + " (a seccomp filter or the container this runs in forbids it?)",
              "run netd where user namespaces are allowed (a container needs a seccomp profile that permits "
              "unshare/clone with CLONE_NEWUSER)");
}

Check check_io_uring(const HostFacts& f) {
  if (f.io_uring.ok()) return make(Status::Ok, "io_uring", "io_uring works (netd's data plane)");
  std::string why, fix;
  if (f.io_uring_disabled == "2") {
    why = "kernel.io_uring_disabled=2";
    fix = std::string("sudo sysctl -w kernel.io_uring_disabled=0") + kKeepSysctl;
  } else if (f.io_uring_disabled == "1") {
    why = "kernel.io_uring_disabled=1 and " + who(f) + " is not in kernel.io_uring_group";
    fix = "add " + who(f) + " to the group named by kernel.io_uring_group, or sudo sysctl -w kernel.io_uring_disabled=0";
  } else if (f.io_uring.err == EPERM || f.io_uring.err == ENOSYS || f.io_uring.err == EACCES) {
    why = "a seccomp filter refuses it, as Docker's and containerd's default profiles do";
    fix = "allow io_uring_setup, io_uring_enter and io_uring_register in the container's seccomp profile";
  } else {
    why = "this kernel's io_uring is too old or limited";
    fix = "Linux 5.11 or later";
  }
  std::string msg = "io_uring refused (" + f.io_uring.message + "): " + why + "; ";
  if (!f.fallback_loop.empty())
    return make(Status::Warn, "io_uring", msg + "netd runs its data plane on " + f.fallback_loop + " instead (slower)",
                fix);
  return make(Status::Fail, "io_uring", msg + "netd has no other event loop to run its data plane on", fix);
}

Check check_ping(const HostFacts& f) {
  constexpr const char* kFix = "sudo sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"";
  if (!f.ping_group_range)
    return make(Status::Warn, "ping", "no net.ipv4.ping_group_range: this kernel has no ping sockets, "
                                      "containers cannot ping out");
  auto r = parse_range(*f.ping_group_range);
  if (r) {
    for (gid_t g : f.groups)
      if (g >= r->first && g <= r->second)
        return make(Status::Ok, "ping", "gid " + std::to_string(g) + " is in net.ipv4.ping_group_range (" +
                                            *f.ping_group_range + "): containers can ping out");
  }
  std::string gid = f.groups.empty() ? "no group" : "gid " + std::to_string(f.groups.front());
  return make(Status::Warn, "ping",
              gid + " of " + who(f) + " is outside net.ipv4.ping_group_range (" + *f.ping_group_range +
                  "): containers cannot ping out (ICMP echo)",
              std::string(kFix) + kKeepSysctl);
}

Check check_ports(const HostFacts& f) {
  if (f.uid == 0) return make(Status::Ok, "ports", "root can publish any port");
  auto start = f.unprivileged_port_start ? parse_number(*f.unprivileged_port_start) : std::nullopt;
  if (!start)
    return make(Status::Warn, "ports", "cannot read net.ipv4.ip_unprivileged_port_start: assuming ports from 1024 up");
  std::string lower = "sudo sysctl -w net.ipv4.ip_unprivileged_port_start=80";
  if (*start == 0) return make(Status::Ok, "ports", who(f) + " can publish any port");
  if (*start <= 1024)
    return make(Status::Ok, "ports",
                who(f) + " can publish ports from " + std::to_string(*start) + " up (lower ones after: " + lower + ")");
  return make(Status::Warn, "ports",
              "net.ipv4.ip_unprivileged_port_start=" + std::to_string(*start) + ": " + who(f) +
                  " cannot publish ports below it",
              lower + kKeepSysctl);
}

Check check_nftables(const HostFacts& f) {
  if (!f.nftables)
    return make(Status::Warn, "nftables", "not checked: it needs a user + network namespace (see userns)");
  if (f.nftables->ok())
    return make(Status::Ok, "nftables",
                "netd's firewall (filter, NAT and DNAT chains) loads in a fresh user + network namespace");
  return make(Status::Warn, "nftables", "`netd network` cannot set up its firewall: " + f.nftables->message,
              "load the nftables modules: sudo modprobe -a nf_tables nft_chain_nat nft_nat nft_masq nft_ct "
              "(list them in /etc/modules-load.d/ to keep them)");
}

Check check_helpers(const HostFacts& f) {
  std::string names;
  for (const char* n : podman::kHelperNames) names += std::string(names.empty() ? "" : ", ") + n;
  if (f.helpers_missing.empty())
    return make(Status::Ok, "helpers", f.helpers_dir + " holds " + names + " (netd)");
  std::string missing;
  for (const auto& n : f.helpers_missing) missing += (missing.empty() ? "" : ", ") + n;
  return make(Status::Warn, "helpers",
              f.helpers_dir + " lacks " + missing + " running " + f.netd_exe +
                  ": Podman cannot be pointed at this netd",
              "install netd (sudo cmake --install build, or its Debian package)");
}

Check check_podman(const HostFacts& f) {
  if (!f.podman_version_output && !f.podman_version_error.empty())
    return make(Status::Warn, "podman", "podman --version failed: " + f.podman_version_error,
                "check the podman install");
  if (!f.podman_version_output)
    return make(Status::Warn, "podman", "podman not found: nothing to run containers with netd",
                "install podman (Debian: sudo apt install podman)");
  auto v = podman::parse_podman_version(*f.podman_version_output);
  if (!v) {
    std::string first = f.podman_version_output->substr(0, f.podman_version_output->find('\n'));
    return make(Status::Warn, "podman", "podman --version printed '" + first + "'", "check the podman install");
  }
  std::string pm = "podman " + v->text;
  if (!f.podman_info_json)
    return make(Status::Warn, "podman", pm + ": podman info failed: " + f.podman_info_error,
                "run 'podman info' and fix what it reports");
  auto info = podman::parse_podman_info(*f.podman_info_json);
  if (!info) return make(Status::Warn, "podman", pm + ": podman info printed no JSON", "run 'podman info'");
  std::string mode = podman::rootless_network_mode(*v, *info);
  const std::string* exe = nullptr;
  const std::string* resolved = nullptr;
  if (mode == "pasta") {
    exe = &info->pasta_executable;
    resolved = &f.pasta_resolved;
  } else if (mode == "slirp4netns") {
    exe = &info->slirp4netns_executable;
    resolved = &f.slirp4netns_resolved;
  }
  std::string setup = f.uid == 0 ? "netd setup podman --system" : "netd setup podman --user";
  // (podman info says whether this podman is rootless: root's gives its
  // containers bridge networks unless told otherwise)
  std::string as = info->rootless ? " spawns " + mode + " for rootless containers"
                                  : " (as root podman gives containers bridge networks; rootless ones get " + mode + ")";
  if (!exe)
    return make(Status::Warn, "podman", pm + as + ", which netd does not provide",
                "default_rootless_network_cmd = \"pasta\" (or \"slirp4netns\") in containers.conf");
  if (exe->empty())
    return make(Status::Warn, "podman", pm + as + ", but finds no " + mode + " to run (none installed)", setup);
  if (!resolved->empty() && *resolved == f.netd_exe)
    return make(Status::Ok, "podman", pm + as + ": " + *exe + " is netd");
  return make(Status::Warn, "podman", pm + as + ": " + *exe + ", not netd", setup);
}

}  // namespace

SubidSummary summarize_subids(std::string_view file, std::string_view user, uid_t uid) {
  SubidSummary s;
  std::string uid_text = std::to_string(uid);
  bool have_first = false;
  while (!file.empty()) {
    size_t nl = file.find('\n');
    std::string_view line = file.substr(0, nl);
    file = nl == std::string_view::npos ? std::string_view() : file.substr(nl + 1);
    // NAME:START:COUNT; anything else (comments, blanks, junk) is skipped.
    size_t c1 = line.find(':');
    if (c1 == std::string_view::npos) continue;
    size_t c2 = line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    auto start = parse_number(line.substr(c1 + 1, c2 - c1 - 1));
    auto count = parse_number(line.substr(c2 + 1));
    if (!start || !count || *count > (1ull << 32) || *start > (1ull << 32)) continue;
    s.free_from = std::max(s.free_from, *start + *count);
    std::string_view name = line.substr(0, c1);
    if (name.empty() || (name != user && name != uid_text)) continue;
    s.count += *count;
    if (!have_first) {
      s.first = *start;
      have_first = true;
    }
  }
  return s;
}

std::optional<std::pair<unsigned long long, unsigned long long>> parse_range(std::string_view s) {
  size_t sep = s.find_first_of(" \t");
  if (sep == std::string_view::npos) return std::nullopt;
  auto lo = parse_number(s.substr(0, sep));
  size_t rest = s.find_first_not_of(" \t", sep);
  if (!lo || rest == std::string_view::npos) return std::nullopt;
  auto hi = parse_number(s.substr(rest));
  if (!hi) return std::nullopt;
  return std::make_pair(*lo, *hi);
}

std::vector<Check> evaluate(const HostFacts& f) {
  return {check_tun(f),   check_userns(f),   check_subids(f, false), check_subids(f, true),
          check_uidmap(f), check_io_uring(f), check_ping(f),          check_ports(f),
          check_nftables(f), check_helpers(f), check_podman(f)};
}

std::string format(const Check& c) {
  const char* st = c.status == Status::Ok ? "OK" : c.status == Status::Warn ? "WARN" : "FAIL";
  std::string line = st;
  line.resize(6, ' ');
  line += c.name;
  if (line.size() < 16) line.resize(16, ' ');
  else line += ' ';
  line += c.message;
  if (!c.fix.empty()) line += " — fix: " + c.fix;
  return line;
}

}  // namespace netd::doctor
