"""The child's last steps before candidate code runs: limits, identity, seccomp.

Runs inside the namespaces the parent built (bubblewrap or jail.py). In order:
resource limits; if the child is still root (a namespace built by root needs
no user namespace), it drops every capability from its bounding set and
becomes the unprivileged `nobody`; then a seccomp filter (libseccomp, through
ctypes) refuses the system calls a candidate never needs, and no_new_privs
makes all of it stick across exec. Nothing here can be undone from inside.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import resource

NOBODY = 65534
PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP = 38, 24

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
# New namespaces: refused on clone/unshare flags; clone3 passes its flags in memory
# a filter cannot read, so it answers ENOSYS and libc falls back to clone.
NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000,
                   0x20000000, 0x40000000, 0x00000080)  # NEWNS CGROUP UTS IPC USER PID NET TIME
TERMINAL_INJECTION = (0x5412, 0x541C)  # TIOCSTI, TIOCLINUX
# Socket families beyond local and IP ones (AF_VSOCK reaches the hypervisor from any
# network namespace; packet and legacy families are not needed).
SOCKET_FAMILY_LIMIT = 17  # AF_PACKET and above
LEGACY_FAMILIES = (3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15)

ACT_ALLOW = 0x7FFF0000
CMP_EQ, CMP_GE, CMP_MASKED_EQ = 4, 5, 7


def act_errno(code: int) -> int:
    return 0x00050000 | (code & 0xFFFF)


class _Arg(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]


def set_limits(limits: dict) -> None:
    """Per-process limits; memory as address space only where no cgroup caps it."""
    cpu = int(limits["cpu_seconds"])
    pairs = [(resource.RLIMIT_CPU, (cpu, cpu + 1)), (resource.RLIMIT_CORE, (0, 0)),
             (resource.RLIMIT_FSIZE, (int(limits["file_mb"]) << 20,) * 2)]
    if limits.get("address_space_mb"):
        mem = int(limits["address_space_mb"]) << 20
        pairs.append((resource.RLIMIT_AS, (mem, mem)))
    if limits.get("nproc"):
        pairs.append((resource.RLIMIT_NPROC, (int(limits["nproc"]),) * 2))
    for res, value in pairs:
        resource.setrlimit(res, value)


def drop_root() -> None:
    """Root inside a namespace root built: empty the bounding set, become nobody."""
    if os.geteuid() != 0:
        return
    libc = _libc()
    cap = 0
    while libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0:
        cap += 1
    if cap == 0:
        raise OSError(ctypes.get_errno(), "cannot drop capabilities")
    os.setgroups([])
    os.setresgid(NOBODY, NOBODY, NOBODY)
    os.setresuid(NOBODY, NOBODY, NOBODY)  # clears the permitted and effective sets
    if os.geteuid() == 0 or _effective_caps() != 0:
        raise OSError(errno.EPERM, "capabilities survived the drop")


def _effective_caps() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    return 0


def no_new_privs() -> None:
    if _libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")


def libseccomp():
    """libseccomp, or None where it is not installed."""
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
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    return lib


def install_seccomp(lib) -> None:
    ctx = lib.seccomp_init(ACT_ALLOW)
    if not ctx:
        raise OSError(errno.ENOMEM, "seccomp_init failed")
    try:
        for name in DENIED:
            _rule(lib, ctx, act_errno(errno.EPERM), name)
        for flag in NAMESPACE_FLAGS:
            _rule(lib, ctx, act_errno(errno.EPERM), "clone", (0, CMP_MASKED_EQ, flag, flag))
        _rule(lib, ctx, act_errno(errno.ENOSYS), "clone3")
        for request in TERMINAL_INJECTION:
            _rule(lib, ctx, act_errno(errno.EPERM), "ioctl",
                  (1, CMP_MASKED_EQ, 0xFFFFFFFF, request))
        _rule(lib, ctx, act_errno(errno.EAFNOSUPPORT), "socket",
              (0, CMP_GE, SOCKET_FAMILY_LIMIT, 0))
        for family in LEGACY_FAMILIES:
            _rule(lib, ctx, act_errno(errno.EAFNOSUPPORT), "socket", (0, CMP_EQ, family, 0))
        if lib.seccomp_load(ctx) != 0:
            raise OSError(ctypes.get_errno(), "seccomp_load failed")
    finally:
        lib.seccomp_release(ctx)


def _rule(lib, ctx, action: int, name: str, *args) -> None:
    number = lib.seccomp_syscall_resolve_name(name.encode())
    if number == -1:  # __NR_SCMP_ERROR: unknown to this libseccomp
        return
    array = (_Arg * max(1, len(args)))(*[_Arg(*a) for a in args])
    rc = lib.seccomp_rule_add_array(ctx, action, number, len(args), array)
    if rc != 0 and rc != -errno.EDOM:  # EDOM: not a call on this architecture
        raise OSError(-rc, f"seccomp rule for {name} failed")


def apply(limits: dict, seccomp: bool, drop: bool) -> None:
    """Everything, in order; raises if a layer the parent expects cannot be applied.
    `drop`: inside namespaces only (outside, nobody could not read Python itself)."""
    set_limits(limits)
    if drop:
        drop_root()
    no_new_privs()
    if seccomp:
        lib = libseccomp()
        if lib is None:
            raise OSError(errno.ENOENT, "libseccomp is not installed")
        install_seccomp(lib)


def _libc():
    return ctypes.CDLL(None, use_errno=True)
