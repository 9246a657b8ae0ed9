#include "netd/port_scanner.h"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <string>

namespace netd {
namespace {

constexpr unsigned kTcpListen = 0x0A;
constexpr unsigned kUdpBound = 0x07;
constexpr const char* kFiles[4] = {"/proc/self/net/tcp", "/proc/self/net/tcp6", "/proc/self/net/udp",
                                   "/proc/self/net/udp6"};

// The n-th blank-separated field of `line` (0-based), or "".
std::string_view field(std::string_view line, int n) {
  size_t i = 0;
  for (int f = 0;; ++f) {
    while (i < line.size() && line[i] == ' ') ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (start == i) return {};
    if (f == n) return line.substr(start, i - start);
  }
}

bool parse_hex(std::string_view s, unsigned* out) {
  if (s.empty() || s.size() > 8) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out, 16);
  return ec == std::errc{} && p == s.data() + s.size();
}

std::string read_all(int fd) {
  std::string text;
  if (::lseek(fd, 0, SEEK_SET) != 0) return text;
  char buf[16384];
  for (int rounds = 0; rounds < 4096; ++rounds) {  // bounded: 64 MiB of socket lines at most
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

}  // namespace

std::set<uint16_t> parse_bound_ports(std::string_view text, unsigned state) {
  std::set<uint16_t> ports;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    std::string_view local = field(line, 1), st = field(line, 3);
    size_t colon = local.rfind(':');
    unsigned port = 0, s = 0;
    if (colon == std::string_view::npos || !parse_hex(local.substr(colon + 1), &port) || port == 0 ||
        port > 65535 || !parse_hex(st, &s) || s != state)
      continue;  // the header line, or anything unexpected
    ports.insert(static_cast<uint16_t>(port));
  }
  return ports;
}

Expected<NsPortScanner, std::string> NsPortScanner::open(const NsTarget& target) {
  auto fds = run_in_netns(target, []() -> NsChildResult {
    std::vector<int> out;
    for (const char* f : kFiles) {
      int fd = ::open(f, O_RDONLY | O_CLOEXEC);
      if (fd < 0) fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);  // no IPv6 in the kernel: nothing listens there
      if (fd < 0) return unexpected(std::string("cannot open ") + f);
      out.push_back(fd);
    }
    return out;
  });
  if (!fds) return unexpected(fds.error());
  if (fds->size() != 4) return unexpected(std::string("namespace helper returned no /proc files"));
  NsPortScanner s;
  for (size_t i = 0; i < 4; ++i) s.fds_[i] = std::move((*fds)[i]);
  return s;
}

BoundPorts NsPortScanner::scan() const {
  BoundPorts b;
  for (size_t i = 0; i < 4; ++i) {
    auto ports = parse_bound_ports(read_all(fds_[i].get()), i < 2 ? kTcpListen : kUdpBound);
    (i < 2 ? b.tcp : b.udp).merge(ports);
  }
  return b;
}

}  // namespace netd
