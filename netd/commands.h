// Entry points of netd's subcommands. main() picks one by argv[1] (or by
// argv[0] for the drop-in names) and passes the remaining arguments; each
// returns the process exit status. One file per subcommand: netd/cmd_<name>.cpp.
#pragma once

namespace netd::cmd {

// argv[0] of each is the subcommand's display name ("netd attach").
int attach(int argc, char** argv);
int dns(int argc, char** argv);            // also argv[0] == "aardvark-dns"
// Called by `dns` right after its sandbox is up, when set. Nothing in netd
// sets it (no option or variable can): only the test binary netd-takeover
// does, to run its payload where a process that took over the server would.
extern void (*dns_after_sandbox)();
int network(int argc, char** argv);
int rootless_netns(int argc, char** argv);
int forward(int argc, char** argv);
int slirp4netns(int argc, char** argv);    // also argv[0] == "slirp4netns"
int pasta(int argc, char** argv);          // also argv[0] == "pasta"
int ctl(int argc, char** argv);            // client of the API socket
int pesto(int argc, char** argv);          // also argv[0] == "pesto"
int setup(int argc, char** argv);          // setup podman: the containers.conf drop-in
int doctor(int argc, char** argv);         // host checks, one line each

}  // namespace netd::cmd
