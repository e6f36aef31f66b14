"""The child's last steps before candidate code runs: limits, identity, seccomp.

Runs inside the namespaces (bubblewrap's, or jail.py's). In order: resource
limits; no capabilities: if the child is still root (a namespace built by root
needs no user namespace) it empties its bounding set and becomes the
unprivileged `nobody`, and a child holding capabilities in a user namespace of
its own clears them; no_new_privs; then the seccomp filter the parent
compiled (adrs/seccomp_filter.py), loaded with one prctl. Nothing here can be
undone from inside. Standard library only, and cheap: this runs for every
evaluation.
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource

NOBODY = 65534
PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 24, 22, 2
FILTER_SIZE = 8  # bytes of one struct sock_filter
CAPABILITY_VERSION_3 = 0x20080522


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


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
    for res, (soft, hard) in pairs:
        # never above the hard limit already there: without privilege (a warm
        # template's candidate sets them after dropping it) that would fail
        now = resource.getrlimit(res)[1]
        if now != resource.RLIM_INFINITY:
            soft, hard = min(soft, now), min(hard, now)
        resource.setrlimit(res, (soft, hard))


def drop_capabilities(libc) -> None:
    """No capability left, in any namespace: root (in namespaces root built, with no
    user namespace) empties its bounding set and becomes nobody; anyone else (the
    user namespace gave it every capability there) empties the bounding set and
    clears its sets with capset(2)."""
    if _effective_caps() == 0 and os.geteuid() != 0:
        return  # bubblewrap dropped them already
    cap = 0
    while libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0:
        cap += 1
    if os.geteuid() == 0:
        os.setgroups([])
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)  # clears the permitted and effective sets
    else:
        header = (ctypes.c_uint32 * 2)(CAPABILITY_VERSION_3, 0)
        if libc.capset(header, (ctypes.c_uint32 * 6)()) != 0:
            raise OSError(ctypes.get_errno(), "capset failed")
    if os.geteuid() == 0 or _effective_caps() != 0:
        raise OSError(errno.EPERM, "capabilities survived the drop")


def _effective_caps() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    return 0


def install_filter(libc, program: bytes) -> None:
    """Load the raw BPF seccomp program with one prctl (no libseccomp in the box)."""
    buffer = ctypes.create_string_buffer(program, len(program))
    prog = _Program(len(program) // FILTER_SIZE, ctypes.addressof(buffer))
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP) failed")


def apply(limits: dict, seccomp: bytes | None, drop: bool) -> None:
    """Everything, in order; raises if a layer the parent expects cannot be applied.
    `drop`: inside namespaces only (outside, nobody could not read Python itself)."""
    set_limits(limits)
    confine(seccomp, drop)


def confine(seccomp: bytes | None, drop: bool) -> None:
    """All but the resource limits, which can still be lowered after it."""
    libc = ctypes.CDLL(None, use_errno=True)
    if drop:
        drop_capabilities(libc)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    if seccomp:
        install_filter(libc, seccomp)
