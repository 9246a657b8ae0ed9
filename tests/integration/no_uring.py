#!/usr/bin/env python3
"""no_uring.py COMMAND [ARG...]: runs COMMAND with io_uring refused, as the
default seccomp profiles of Docker and containerd refuse it.

Installs a seccomp filter (through libseccomp, with ctypes) that allows every
system call except io_uring_setup, io_uring_enter and io_uring_register,
which fail with EPERM, then execs COMMAND. The filter is inherited by every
process COMMAND starts and cannot be lifted. Without CAP_SYS_ADMIN in its
user namespace a process may only install a filter with no_new_privs set;
where the capability is there (root of the test harness's namespace) the
filter goes in without it, so setuid helpers the command runs still work.
Exits 1 with a message when the filter cannot be installed.
"""
import ctypes
import errno
import os
import sys

SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_ACT_ERRNO = 0x00050000  # | errno
SCMP_FLTATR_CTL_NNP = 3  # enum scmp_filter_attr: set no_new_privs on load
SYSCALLS = [b"io_uring_setup", b"io_uring_enter", b"io_uring_register"]


def install():
    lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint]
    lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    # First without no_new_privs (refused without the capability: libseccomp
    # reports the kernel's EACCES as ECANCELED), then with it.
    for nnp in (0, 1):
        ctx = lib.seccomp_init(SCMP_ACT_ALLOW)
        if not ctx:
            return "seccomp_init failed"
        for name in SYSCALLS:
            nr = lib.seccomp_syscall_resolve_name(name)
            if nr < 0:
                return f"libseccomp does not know {name.decode()}"
            rc = lib.seccomp_rule_add(ctx, SCMP_ACT_ERRNO | errno.EPERM, nr, 0)
            if rc != 0:
                return f"seccomp_rule_add({name.decode()}): {os.strerror(-rc)}"
        if lib.seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, nnp) != 0:
            return "seccomp_attr_set(SCMP_FLTATR_CTL_NNP) failed"
        rc = lib.seccomp_load(ctx)
        lib.seccomp_release(ctx)
        if rc == 0:
            return None
    return f"seccomp_load: {os.strerror(-rc)}"


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: no_uring.py COMMAND [ARG...]")
    err = install()
    if err:
        sys.exit(f"no_uring.py: cannot refuse io_uring: {err}")
    os.execvp(sys.argv[1], sys.argv[1:])


if __name__ == "__main__":
    main()
