"""The seccomp filter every sandboxed child installs, compiled once in the parent.

Built with libseccomp (through ctypes) and exported as a raw BPF program, which
the child loads with one prctl(2): the child needs neither libseccomp nor any
time to compile it. Where libseccomp is missing there is no filter, and
`adrs sandbox` says so.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import os

# Kernel-administration, namespace, tracing and keyring calls: refused with EPERM.
DENIED = (
    "mount", "umount2", "pivot_root", "chroot", "setns", "unshare", "move_mount",
    "open_tree", "fsopen", "fsmount", "fsconfig", "fspick", "mount_setattr",
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
    "io_uring_register", "keyctl", "add_key", "request_key",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "reboot", "swapon", "swapoff", "syslog", "acct", "quotactl", "lookup_dcookie",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "sethostname",
    "setdomainname", "iopl", "ioperm", "open_by_handle_at", "name_to_handle_at",
    "fanotify_init", "vhangup", "nfsservctl", "uselib", "personality",
)
# New namespaces: refused on clone flags; clone3 passes its flags in memory a filter
# cannot read, so it answers ENOSYS and libc falls back to clone.
NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000,
                   0x20000000, 0x40000000, 0x00000080)  # NEWNS CGROUP UTS IPC USER PID NET TIME
TERMINAL_INJECTION = (0x5412, 0x541C)  # TIOCSTI, TIOCLINUX
# Socket families beyond local and IP ones: AF_VSOCK reaches the hypervisor from any
# network namespace; packet and legacy families are not needed.
SOCKET_FAMILY_LIMIT = 17  # AF_PACKET and above
LEGACY_FAMILIES = (3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15)

ACT_ALLOW = 0x7FFF0000
CMP_EQ, CMP_GE, CMP_MASKED_EQ = 4, 5, 7


def act_errno(code: int) -> int:
    """The filter action that fails a call with errno `code`."""
    return 0x00050000 | (code & 0xFFFF)


class _Arg(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]


def _library():
    name = ctypes.util.find_library("seccomp") or "libseccomp.so.2"
    try:
        lib = ctypes.CDLL(name, use_errno=True)
    except OSError:
        return None
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                           ctypes.c_uint, ctypes.POINTER(_Arg)]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    return lib


@functools.lru_cache(maxsize=1)
def program() -> bytes | None:
    """The filter as raw BPF (struct sock_filter[]), or None without libseccomp."""
    lib = _library()
    if lib is None:
        return None
    ctx = lib.seccomp_init(ACT_ALLOW)
    if not ctx:
        return None
    try:
        _rules(lib, ctx)
        return _export(lib, ctx)
    finally:
        lib.seccomp_release(ctx)


def _rules(lib, ctx) -> None:
    eperm = act_errno(errno.EPERM)
    for name in DENIED:
        _rule(lib, ctx, eperm, name)
    for flag in NAMESPACE_FLAGS:
        _rule(lib, ctx, eperm, "clone", (0, CMP_MASKED_EQ, flag, flag))
    _rule(lib, ctx, act_errno(errno.ENOSYS), "clone3")
    for request in TERMINAL_INJECTION:
        _rule(lib, ctx, eperm, "ioctl", (1, CMP_MASKED_EQ, 0xFFFFFFFF, request))
    no_family = act_errno(errno.EAFNOSUPPORT)
    _rule(lib, ctx, no_family, "socket", (0, CMP_GE, SOCKET_FAMILY_LIMIT, 0))
    for family in LEGACY_FAMILIES:
        _rule(lib, ctx, no_family, "socket", (0, CMP_EQ, family, 0))


def _rule(lib, ctx, action: int, name: str, *args) -> None:
    number = lib.seccomp_syscall_resolve_name(name.encode())
    if number == -1:  # __NR_SCMP_ERROR: unknown to this libseccomp
        return
    array = (_Arg * max(1, len(args)))(*[_Arg(*a) for a in args])
    rc = lib.seccomp_rule_add_array(ctx, action, number, len(args), array)
    if rc != 0 and rc != -errno.EDOM:  # EDOM: not a call on this architecture
        raise OSError(-rc, f"seccomp rule for {name} failed")


def _export(lib, ctx) -> bytes:
    read, write = os.pipe()
    try:
        if lib.seccomp_export_bpf(ctx, write) != 0:
            raise OSError(errno.EIO, "seccomp_export_bpf failed")
        os.close(write)
        write = -1
        chunks = []
        while chunk := os.read(read, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(read)
        if write >= 0:
            os.close(write)
