// Port handover and the holder of a port (see port_holder.h).
#include "portfwd/port_holder.h"

#include <dirent.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "common/log.h"
#include "common/net/endpoint.h"
#include "portfwd/host_socket.h"

namespace netd::portfwd {
namespace {

constexpr uint8_t kTcpListen = 10;

std::string_view next_field(std::string_view& line) {
  size_t b = line.find_first_not_of(' ');
  if (b == std::string_view::npos) {
    line = {};
    return {};
  }
  line.remove_prefix(b);
  size_t e = line.find(' ');
  std::string_view f = line.substr(0, e);
  line = e == std::string_view::npos ? std::string_view{} : line.substr(e);
  return f;
}

template <class T>
bool parse_number(std::string_view s, T* out, int base) {
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out, base);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// "0100007F:1F90" (IPv4) or 32 hex digits ":PORT" (IPv6). The kernel
// prints each 32-bit word of the address as the number it is in memory on
// this host, so the word goes back to memory as it is.
bool parse_endpoint(std::string_view s, int family, net::IpAddr* addr, uint16_t* port) {
  auto colon = s.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view hex = s.substr(0, colon);
  const size_t words = family == AF_INET ? 1 : 4;
  if (hex.size() != words * 8) return false;
  std::array<uint8_t, 16> bytes{};  // in network order, as in memory
  for (size_t i = 0; i < words; ++i) {
    uint32_t w = 0;
    if (!parse_number(hex.substr(i * 8, 8), &w, 16)) return false;
    std::memcpy(bytes.data() + i * 4, &w, 4);
  }
  if (!parse_number(s.substr(colon + 1), port, 16)) return false;
  if (family == AF_INET)
    *addr = net::Ipv4Addr::from_octets(bytes[0], bytes[1], bytes[2], bytes[3]);
  else
    *addr = net::Ipv6Addr{bytes};
  return true;
}

// The file's text; nullopt when it cannot be opened.
std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

using NamedPids = std::vector<std::pair<pid_t, std::string>>;

std::string comm_of(pid_t pid) {
  std::string name = read_text("/proc/" + std::to_string(pid) + "/comm").value_or("?");
  while (!name.empty() && name.back() == '\n') name.pop_back();
  return name;
}

// The real uid of process `pid`; nullopt if its status cannot be read.
std::optional<uid_t> uid_of(pid_t pid) {
  auto status = read_text("/proc/" + std::to_string(pid) + "/status");
  if (!status) return std::nullopt;
  return parse_status_uid(*status);
}

// Whether one of `fd_dir`'s fds is a socket with one of `inodes`.
bool has_socket(const std::string& fd_dir, DIR* fds, const std::vector<uint64_t>& inodes) {
  while (dirent* f = ::readdir(fds)) {
    if (f->d_name[0] == '.') continue;
    char link[64];
    ssize_t n = ::readlink((fd_dir + "/" + f->d_name).c_str(), link, sizeof link - 1);
    if (n <= 0) continue;
    std::string_view target(link, static_cast<size_t>(n));
    constexpr std::string_view kSocket = "socket:[";
    if (target.substr(0, kSocket.size()) != kSocket || target.back() != ']') continue;
    uint64_t inode = 0;
    if (!parse_number(target.substr(kSocket.size(), target.size() - kSocket.size() - 1), &inode, 10)) continue;
    if (std::find(inodes.begin(), inodes.end(), inode) != inodes.end()) return true;
  }
  return false;
}

// The processes with a fd on one of `inodes` (pid, name), among those whose
// fds netd may read; and, in `unreadable`, the processes of uid `owner`
// whose fds it may not (a sandboxed netd is one: entering its own user
// namespace made it non-dumpable), which may be the holder.
NamedPids processes_with(const std::vector<uint64_t>& inodes, uid_t owner, NamedPids* unreadable) {
  NamedPids out;
  DIR* proc = ::opendir("/proc");
  if (!proc) return out;
  const pid_t self = ::getpid();
  while (dirent* p = ::readdir(proc)) {
    pid_t pid = 0;
    if (!parse_number(std::string_view(p->d_name), &pid, 10) || pid == self) continue;
    const std::string fd_dir = "/proc/" + std::string(p->d_name) + "/fd";
    DIR* fds = ::opendir(fd_dir.c_str());
    if (!fds) {
      if (errno == EACCES && uid_of(pid) == owner) unreadable->emplace_back(pid, comm_of(pid));
      continue;
    }
    const bool found = has_socket(fd_dir, fds, inodes);
    ::closedir(fds);
    if (found) out.emplace_back(pid, comm_of(pid));
  }
  ::closedir(proc);
  std::sort(out.begin(), out.end());
  std::sort(unreadable->begin(), unreadable->end());
  return out;
}

std::string list_pids(const NamedPids& procs) {
  std::string out = procs.size() == 1 ? "pid " : "pids ";
  for (size_t i = 0; i < procs.size(); ++i)
    out += (i ? ", " : "") + std::to_string(procs[i].first) + " (" + procs[i].second + ")";
  return out;
}

}  // namespace

std::optional<uid_t> parse_status_uid(std::string_view status) {
  // "Uid:\tREAL\tEFFECTIVE\tSAVED\tFS", at the start of a line.
  constexpr std::string_view kUid = "Uid:";
  size_t at = status.substr(0, kUid.size()) == kUid ? 0 : status.find("\nUid:");
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = status.substr(at + (at == 0 ? kUid.size() : kUid.size() + 1));
  rest = rest.substr(0, rest.find('\n'));
  size_t b = rest.find_first_not_of(" \t");
  if (b == std::string_view::npos) return std::nullopt;
  rest.remove_prefix(b);
  std::string_view digits = rest.substr(0, rest.find_first_of(" \t"));
  uid_t uid = 0;
  if (!parse_number(digits, &uid, 10)) return std::nullopt;
  return uid;
}

std::vector<ProcNetSocket> parse_proc_net(std::string_view text, int family) {
  std::vector<ProcNetSocket> out;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
    std::string_view sl = next_field(line);
    if (sl.empty() || sl.back() != ':') continue;  // the header, or not a socket line
    ProcNetSocket s;
    if (!parse_endpoint(next_field(line), family, &s.local, &s.port)) continue;
    next_field(line);  // remote
    if (!parse_number(next_field(line), &s.state, 16)) continue;
    next_field(line);  // queues
    next_field(line);  // timer
    next_field(line);  // retransmits
    if (!parse_number(next_field(line), &s.uid, 10)) continue;
    next_field(line);  // timeout
    if (!parse_number(next_field(line), &s.inode, 10)) continue;
    out.push_back(s);
  }
  return out;
}

std::vector<uint64_t> holders_of(const std::vector<ProcNetSocket>& sockets, const net::IpAddr& addr, uint16_t port,
                                 Proto proto) {
  std::vector<uint64_t> out;
  for (const auto& s : sockets) {
    if (s.port != port || s.inode == 0 || s.local.family() != addr.family()) continue;
    if (proto == Proto::Tcp && s.state != kTcpListen) continue;
    if (!(s.local == addr || s.local.is_unspecified() || addr.is_unspecified())) continue;
    out.push_back(s.inode);
  }
  return out;
}

std::string describe_port_holder(const net::IpAddr& addr, uint16_t port, Proto proto) {
  std::string file = std::string("/proc/net/") + (proto == Proto::Tcp ? "tcp" : "udp") +
                     (addr.is_v6() ? "6" : "");
  auto text = read_text(file);
  if (!text) {  // (netd's sandbox has no /proc)
    return std::string("a process netd cannot look up from its sandbox (`ss -") + (proto == Proto::Tcp ? "tl" : "ul") +
           "np 'sport = :" + std::to_string(port) + "'` names it)";
  }
  auto sockets = parse_proc_net(*text, addr.is_v6() ? AF_INET6 : AF_INET);
  auto inodes = holders_of(sockets, addr, port, proto);
  if (inodes.empty()) return "";
  uid_t owner = 0;
  for (const auto& s : sockets)
    if (s.inode == inodes.front()) owner = s.uid;
  NamedPids unreadable;
  auto procs = processes_with(inodes, owner, &unreadable);
  if (!procs.empty()) return list_pids(procs);
  std::string out = "a socket of uid " + std::to_string(owner) + " whose process cannot be seen here";
  constexpr size_t kMaxCandidates = 3;
  if (!unreadable.empty() && unreadable.size() <= kMaxCandidates)
    out += " (perhaps " + list_pids(unreadable) + ", whose fds netd may not read)";
  return out;
}

std::optional<std::chrono::milliseconds> HandoverBackoff::next(Clock::time_point now) {
  if (now >= end_) return std::nullopt;
  auto pause = std::min(pause_, std::chrono::ceil<std::chrono::milliseconds>(end_ - now));
  pause_ = std::min(pause_ * 2, std::chrono::milliseconds(200));  // (a bind is cheap: a successor is not kept waiting long)
  return pause;
}

std::string port_wait_note(const net::IpAddr& addr, uint16_t port, Proto proto, const std::string& holder,
                           std::chrono::milliseconds max_wait) {
  return net::to_string(net::Endpoint{addr, port}) + "/" + proto_name(proto) + " is in use" +
         (holder.empty() ? "" : " by " + holder) + "; waiting up to " + std::to_string(max_wait.count()) +
         " ms for it";
}

std::string port_taken_note(const net::IpAddr& addr, uint16_t port, Proto proto, std::chrono::milliseconds waited) {
  return net::to_string(net::Endpoint{addr, port}) + "/" + proto_name(proto) + " taken over after " +
         std::to_string(waited.count()) + " ms";
}

std::string port_in_use_error(const std::string& bind_error, const net::IpAddr& addr, uint16_t port, Proto proto,
                              std::chrono::milliseconds waited) {
  std::string holder = describe_port_holder(addr, port, proto);
  return bind_error + (holder.empty() ? "" : "; held by " + holder) + " (waited " + std::to_string(waited.count()) +
         " ms)";
}

Expected<UniqueFd, std::string> open_host_socket_waiting(const net::IpAddr& addr, uint16_t port, Proto proto,
                                                         std::chrono::milliseconds max_wait, bool nonblocking,
                                                         int unpriv_start) {
  HandoverBackoff backoff(max_wait);
  for (bool first = true;; first = false) {
    auto fd = open_host_socket(addr, port, proto, nonblocking, unpriv_start);
    if (fd && !first) {
      LOG_WARN("%s", port_taken_note(addr, port, proto, backoff.waited()).c_str());
    }
    if (fd || errno != EADDRINUSE) return fd;
    auto pause = backoff.next();
    if (!pause) {
      std::string message = port_in_use_error(fd.error(), addr, port, proto, max_wait);
      errno = EADDRINUSE;
      return unexpected(message);
    }
    if (first) {
      LOG_WARN("%s", port_wait_note(addr, port, proto, describe_port_holder(addr, port, proto), max_wait).c_str());
    }
    std::this_thread::sleep_for(*pause);
  }
}

}  // namespace netd::portfwd
