// The sandbox (see sandbox.h for the theory of operation).
#include "common/sandbox.h"

#include <cap-ng.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "common/seccomp_filter.h"
#include "common/unique_fd.h"

namespace netd {
namespace {

std::string sys_error(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

// Threads in this process (the "Threads:" line of /proc/self/status); 0 if unknown.
int thread_count() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::atoi(line.c_str() + 8);
  }
  return 0;
}

bool write_proc_file(const char* path, const std::string& text) {
  int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

// Step 1 for an unprivileged netd: a user namespace in which it keeps its uid
// and gid. The mapping is best effort: who netd is inside does not matter
// (it creates no files, and its sockets carry its real ids), and a
// namespaced root without capabilities may not map its uid 0 at all (that
// needs CAP_SETFCAP); unmapped, it is "nobody" inside, with the same
// capabilities there.
// Returns whether netd's uid is mapped inside (only a mapped uid can make
// the kept paths' mount points).
Expected<bool, std::string> enter_user_namespace() {
  uid_t uid = ::geteuid();
  gid_t gid = ::getegid();
  if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
    int e = errno;
    std::string msg = std::string("cannot create the sandbox's user namespace: ") + std::strerror(e);
    if (e == EPERM || e == ENOSPC)
      msg += " (user namespaces disabled or exhausted? run with --disable-sandbox)";
    return unexpected(msg);
  }
  // An unprivileged writer must refuse setgroups before it may map a gid.
  if (write_proc_file("/proc/self/setgroups", "deny"))
    (void)write_proc_file("/proc/self/gid_map", std::to_string(gid) + " " + std::to_string(gid) + " 1\n");
  return write_proc_file("/proc/self/uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1\n");
}

// A path kept in the new root: opened (O_PATH) before the tmpfs hides it.
struct KeptPath {
  std::string path;  // absolute, as given
  UniqueFd fd;
  bool dir = false;
};

Expected<std::vector<KeptPath>, std::string> open_kept(const std::vector<std::string>& paths) {
  std::vector<KeptPath> kept;
  for (const auto& p : paths) {
    if (p.empty() || p[0] != '/' || p.find("/..") != std::string::npos)
      return unexpected("sandbox: cannot keep " + p + ": not a plain absolute path");
    KeptPath k;
    k.path = p;
    k.fd.reset(::open(p.c_str(), O_PATH | O_CLOEXEC));
    if (!k.fd) return unexpected(sys_error(("sandbox: cannot keep " + p).c_str()));
    struct stat st {};
    if (::fstat(k.fd.get(), &st) != 0) return unexpected(sys_error(("sandbox: cannot keep " + p).c_str()));
    k.dir = S_ISDIR(st.st_mode);
    kept.push_back(std::move(k));
  }
  return kept;
}

// Makes `k`'s mount point under the new root `root` (each directory on the
// way, then the directory or empty file itself) and binds `k` onto it.
Expected<void, std::string> bind_kept(const std::string& root, const KeptPath& k) {
  std::string at = root;
  size_t pos = 1;
  while (pos <= k.path.size()) {
    size_t next = k.path.find('/', pos);
    if (next == std::string::npos) next = k.path.size();
    if (next > pos) {
      at += "/" + k.path.substr(pos, next - pos);
      const bool last = next == k.path.size();
      if (!last || k.dir) {
        if (::mkdir(at.c_str(), 0755) != 0 && errno != EEXIST) return unexpected(sys_error(("sandbox: " + at).c_str()));
      } else {
        UniqueFd f(::open(at.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0444));
        if (!f) return unexpected(sys_error(("sandbox: " + at).c_str()));
      }
    }
    pos = next + 1;
  }
  const std::string source = "/proc/self/fd/" + std::to_string(k.fd.get());
  if (::mount(source.c_str(), at.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
    return unexpected(sys_error(("sandbox: keeping " + k.path).c_str()));
  return {};
}

// Step 2: pivot_root into an empty tmpfs (holding only the kept paths),
// then make it read-only.
Expected<void, std::string> empty_root(const std::vector<std::string>& keep_paths) {
  auto kept = open_kept(keep_paths);
  if (!kept) return unexpected(kept.error());
  // Nothing we do here may propagate back to the namespace we came from.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return unexpected(sys_error("sandbox: making mounts private"));
  // Any existing directory can host the new root's mount; /tmp always exists.
  // The tmpfs is tiny: it only ever holds its own root directory and the
  // mount points of the kept paths.
  // (Writable by its owner only while the mount points are made: the whole
  // tmpfs is read-only before anything else runs.)
  const std::string options = std::string("size=4k,mode=") + (kept->empty() ? "0555" : "0755") +
                              ",nr_inodes=" + std::to_string(2 + 64 * kept->size());
  if (::mount("netd-sandbox", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, options.c_str()) != 0)
    return unexpected(sys_error("sandbox: mounting an empty tmpfs"));
  for (const auto& k : *kept) {
    if (auto b = bind_kept("/tmp", k); !b) return b;
  }
  kept->clear();  // the O_PATH fds: nothing inside needs them
  if (::chdir("/tmp") != 0) return unexpected(sys_error("sandbox: chdir to the new root"));
  // pivot_root(".", "."): the old root ends up stacked on the new one at "/";
  // detaching "." then drops the whole old tree from this namespace.
  if (::syscall(SYS_pivot_root, ".", ".") != 0) return unexpected(sys_error("sandbox: pivot_root"));
  if (::umount2(".", MNT_DETACH) != 0) return unexpected(sys_error("sandbox: detaching the old root"));
  if (::chdir("/") != 0) return unexpected(sys_error("sandbox: chdir /"));
  if (::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              nullptr) != 0)
    return unexpected(sys_error("sandbox: remounting the new root read-only"));
  return {};
}

}  // namespace

Expected<SandboxReport, std::string> enter_sandbox(const SandboxOptions& opts) {
  SandboxReport report;
  if (opts.isolate) {
    int threads = thread_count();
    if (threads != 1) {
      return unexpected("sandbox: netd runs " + std::to_string(threads) +
                        " threads; the sandbox must be entered before any thread starts");
    }
    capng_get_caps_process();
    bool admin = capng_have_capability(CAPNG_EFFECTIVE, CAP_SYS_ADMIN) != 0;
    bool bind_low = capng_have_capability(CAPNG_EFFECTIVE, CAP_NET_BIND_SERVICE) != 0;
    if (!admin) {
      const uid_t uid = ::geteuid();  // (unmapped, it reads as the overflow uid inside)
      auto u = enter_user_namespace();
      if (!u) return unexpected(u.error());
      if (!*u && !opts.keep_paths.empty()) {
        return unexpected(std::string("sandbox: netd runs as uid ") + std::to_string(uid) +
                          " without capabilities, which cannot be mapped into the sandbox's user namespace "
                          "(uid 0 needs CAP_SETFCAP), so the sandbox cannot keep " + opts.keep_paths.front() +
                          "; give netd its capabilities or run with --disable-sandbox");
      }
      report.new_user_namespace = true;
    } else if (::unshare(CLONE_NEWNS) != 0) {
      return unexpected(sys_error("sandbox: unsharing the mount namespace"));
    }
    // Bounding and ambient sets first: libcap-ng reads /proc to apply them,
    // and /proc is gone once the root is empty.
    capng_clear(CAPNG_SELECT_ALL);
    report.kept_net_bind_service = bind_low && !report.new_user_namespace;
    if (report.kept_net_bind_service)
      capng_update(CAPNG_ADD, static_cast<capng_type_t>(CAPNG_EFFECTIVE | CAPNG_PERMITTED), CAP_NET_BIND_SERVICE);
    if (capng_apply(static_cast<capng_select_t>(CAPNG_SELECT_BOUNDS | CAPNG_SELECT_AMBIENT)) != 0)
      return unexpected(std::string("sandbox: cannot empty the capability bounding set"));
    auto r = empty_root(opts.keep_paths);
    if (!r) return unexpected(r.error());
    if (capng_apply(CAPNG_SELECT_CAPS) != 0) return unexpected(std::string("sandbox: cannot drop capabilities"));
  }
  if (opts.isolate || opts.seccomp) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return unexpected(sys_error("sandbox: no_new_privs"));
  }
  if (opts.seccomp) {
    auto s = install_seccomp_filter(opts.process);
    if (!s) return unexpected(s.error());
    report.seccomp = true;
  }
  return report;
}

}  // namespace netd
