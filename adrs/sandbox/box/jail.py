"""adrs's own namespace builder, for machines without bubblewrap (stdlib and ctypes).

Entered by the child itself (`enter`), before it reads any input: unshares
mount, PID, network, IPC, UTS and cgroup namespaces (and a user namespace when
not started as root, mapping only the caller's own ids), carries out the mount
plan of adrs/sandbox_view.py on a fresh tmpfs root, pivots into it and
detaches the host's tree, brings up the namespace's own loopback, and returns
in a grandchild that runs under a small PID-1 reaper. The reaper exits with
the grandchild's status (128 + N for a signal, as bubblewrap reports it); when
it exits, the kernel kills whatever else lives in the namespace. The process
the parent started stays outside and exits with the reaper's status. Status
125 and one line on stderr: the namespaces could not be built.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC = 0x20000, 0x2000000, 0x4000000, \
    0x8000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
# statvfs flag -> mount flag, for flags a less privileged namespace must keep
LOCKED = ((os.ST_NOSUID, MS_NOSUID), (os.ST_NODEV, MS_NODEV), (os.ST_NOEXEC, MS_NOEXEC),
          (os.ST_NOATIME, MS_NOATIME), (os.ST_NODIRATIME, MS_NODIRATIME),
          (os.ST_RELATIME, MS_RELATIME))
MNT_DETACH, PR_SET_PDEATHSIG = 2, 1
PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}
DEVICES = ("null", "zero", "full", "random", "urandom")
BASE, NEW, OLD = "/tmp", "/newroot", "/oldroot"  # BASE: a tmpfs in our own mount namespace

libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]
libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _b(text: str | None) -> bytes | None:
    return None if text is None else os.fsencode(text)


def mount(src, dest, fstype, flags, data=None) -> None:
    """mount(2), raising OSError naming the destination."""
    _check(libc.mount(_b(src), _b(dest), _b(fstype), flags, _b(data)), f"mount {dest}")


def _mkdirs(path: str) -> None:
    os.makedirs(path, mode=0o755, exist_ok=True)


def _touch(path: str) -> None:
    _mkdirs(os.path.dirname(path))
    if not os.path.exists(path):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o644))


def bind_read_only(src: str, dest: str, recursive: bool = False) -> None:
    """Bind src (a path of the host's tree) read-only, keeping its locked flags;
    `recursive`: with the mounts under it (what covers parts of it)."""
    if os.path.isdir(src):
        _mkdirs(dest)
    else:
        _touch(dest)
    mount(src, dest, None, MS_BIND | (MS_REC if recursive else 0))
    kept = sum(m for st, m in LOCKED if os.statvfs(src).f_flag & st)
    mount(None, dest, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | kept)


def tmpfs(dest: str, size: int, mode: int) -> None:
    """A size-capped tmpfs at `dest`."""
    _mkdirs(dest)
    mount("tmpfs", dest, "tmpfs", MS_NOSUID | MS_NODEV, f"size={max(size, 4096)},mode={mode:o}")


def devices(dest: str, shm: int) -> None:
    """A minimal /dev at `dest`: the few safe devices, bound from the host, and shm."""
    tmpfs(dest, 1 << 16, 0o755)
    for name in DEVICES:
        _touch(f"{dest}/{name}")
        mount(f"{OLD}/dev/{name}", f"{dest}/{name}", None, MS_BIND)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{dest}/{name}")
    tmpfs(f"{dest}/shm", shm, 0o1777)


def proc(dest: str) -> None:
    """A /proc of the calling process's PID namespace."""
    _mkdirs(dest)
    mount("proc", dest, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)


def hide(dest: str) -> None:
    """Cover `dest` with an empty read-only tmpfs (a folder) or /dev/null (a file)."""
    if os.path.isdir(dest):
        mount("tmpfs", dest, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4096,mode=000")
    else:
        mount(f"{OLD}/dev/null", dest, None, MS_BIND)


def carry_out(ops: list) -> None:
    """Carry out the mount plan (adrs/sandbox/mounts.py) under the new root."""
    for op, *args in ops:
        if op == "tmpfs":
            tmpfs(NEW + args[0], args[1], args[2])
        elif op == "bind":
            bind_read_only(OLD + args[0], NEW + args[1])
        elif op == "symlink":
            _mkdirs(os.path.dirname(NEW + args[1]))
            os.symlink(args[0], NEW + args[1])
        elif op == "dev":
            devices(NEW + args[0], args[1])
        elif op == "proc":
            proc(NEW + args[0])
        elif op == "hide":
            hide(NEW + args[0])
        else:
            raise ValueError(f"unknown mount operation {op}")


def pivot(into: str, old: str | None) -> None:
    """pivot_root(2) into `into`, the old root put at `old` (or stacked under it)."""
    number = PIVOT_ROOT.get(os.uname().machine)
    if number is None:
        raise OSError(38, f"pivot_root: unknown on {os.uname().machine}")
    os.chdir(into)
    _check(libc.syscall(number, b".", _b(old or ".")), "pivot_root")
    if old is None:  # pivot_root(".", "."): the old root sits on top; detach it
        _check(libc.umount2(b".", MNT_DETACH), "umount old root")
    os.chdir("/")


def build_root(ops: list) -> None:
    """The new root: a tmpfs with the plan's mounts, pivoted onto; the host's root unmounted."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("tmpfs", BASE, "tmpfs", MS_NOSUID | MS_NODEV, "size=1048576,mode=755")
    for d in (NEW, OLD):
        os.mkdir(BASE + d, 0o755)
    pivot(BASE, BASE + OLD)
    mount(NEW, NEW, None, MS_BIND)
    carry_out(ops)
    mount(None, NEW, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    pivot(NEW, None)


def map_ids(uid: int, gid: int) -> None:
    """In a user namespace of our own: only our own ids, no supplementary groups."""
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                       ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as fh:
            fh.write(text)


def status_code(status: int) -> int:
    """A wait status as a shell would report it: 128 + signal, or the exit code."""
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def quiet(null: int) -> None:
    """Drop every inherited descriptor: only the child holds the sandbox's pipes.
    `null` was opened before the fork: pivot_root moves the root of every process of
    the mount namespace, so /dev/null may be missing by the time this runs."""
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.closerange(3, 1 << 16)


def reap(main: int, null: int) -> None:
    """PID 1 of the namespace: reap orphans until the child exits, then exit like it."""
    quiet(null)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(1)
        if pid == main:
            os._exit(status_code(status))


def loopback_up() -> None:
    """The new network namespace's own loopback, up (as bubblewrap leaves it); through
    libc, as importing the socket module would cost more than the call."""
    fd = libc.socket(2, 2, 0)  # AF_INET, SOCK_DGRAM
    if fd < 0:
        _check(-1, "socket")
    flags = (0x49).to_bytes(2, sys.byteorder)  # IFF_UP | IFF_LOOPBACK | IFF_RUNNING
    request = ctypes.create_string_buffer(b"lo".ljust(16, b"\0") + flags, 40)  # struct ifreq
    try:
        _check(libc.ioctl(fd, 0x8914, request), "bring up loopback")  # SIOCSIFFLAGS
    finally:
        libc.close(fd)


def enter(plan: list) -> None:
    """Return inside the new namespaces and root, or never (other processes exit)."""
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | \
        CLONE_NEWCGROUP | (CLONE_NEWUSER if uid != 0 else 0)
    try:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        _check(libc.unshare(flags), "unshare")
        if flags & CLONE_NEWUSER:
            map_ids(uid, gid)
        null = os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC)
        first = os.fork()
    except OSError as exc:
        _fail(exc)
    if first:
        quiet(null)
        os._exit(status_code(os.waitpid(first, 0)[1]))
    try:  # PID 1 of the new namespace
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        build_root(plan)
        libc.sethostname(b"adrs-sandbox", 12)
        loopback_up()
        child = os.fork()
    except OSError as exc:
        _fail(exc)
    if child:
        reap(child, null)
    os.close(null)


def _fail(exc: OSError) -> None:
    print(f"adrs jail: {exc}", file=sys.stderr, flush=True)
    os._exit(125)
