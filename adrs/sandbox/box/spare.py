"""A warm template's spares: each a candidate process made ahead of its job.

The processes of one candidate: F, the spare's outer process (it makes the new
mount, PID and IPC namespaces and a fresh scratch, and waits), G, PID 1 of the
new PID namespace (the reaper: when it ends, the kernel kills all that is left
in there), and H, the candidate, which joins the cgroups it is sent, waits for
its job, locks itself down and then talks to the controller as a cold child
would. Each dies with its parent (PDEATHSIG). Loaded by template.py from its
path (box/child.py's _sibling), like every module of this folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWPID = 0x20000, 0x8000000, 0x20000000
PR_SET_PDEATHSIG, PR_SET_DUMPABLE = 1, 4
MAX_FDS = 1 << 16
MESSAGE = 1 << 16


class Spares:
    """The spares of one template, oldest first; `make` forks the next one."""

    def __init__(self, child, conf: dict, seccomp: bytes | None, ctl: socket.socket,
                 null: int):
        self.child, self.jail = child, child._sibling("jail")
        self.conf, self.seccomp, self.ctl, self.null = conf, seccomp, ctl, null
        self.template_pid = os.getpid()
        self.all: list[tuple[int, int, socket.socket]] = []  # (pid, pidfd, socket)

    def make(self) -> tuple[int, int, socket.socket]:
        """A new spare, the newest: (pid of F, a pidfd of F, the socket to H)."""
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:
            mine.detach()
            self._outer(theirs)  # never returns
        theirs.close()
        spare = (pid, os.pidfd_open(pid), mine)
        self.all.append(spare)
        return spare

    def drop(self, spare) -> None:
        """Forget a spare: close the parent's ends of its pipes."""
        self.all.remove(spare)
        spare[2].close()
        os.close(spare[1])

    def kill_all(self) -> None:
        """SIGKILL every spare (the template is ending)."""
        for pid, *_ in self.all:
            os.kill(pid, signal.SIGKILL)

    def _outer(self, sock: socket.socket) -> None:
        """F: new namespaces and a fresh scratch, then G, waited for."""
        libc = self.jail.libc
        try:
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if os.getppid() != self.template_pid:
                os._exit(1)
            self._forget(keep=(sock.fileno(), self.null))
            self.jail._check(libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC), "unshare")
            self.jail.mount(None, "/", None, self.jail.MS_REC | self.jail.MS_PRIVATE)
            self._fresh_scratch()
            reaper = os.fork()
        except OSError as exc:
            _fail(sock, exc)
        if reaper:
            sock.detach()
            _only(())
            os._exit(self.jail.status_code(os.waitpid(reaper, 0)[1]))
        self._reaper(sock)

    def _reaper(self, sock: socket.socket) -> None:
        """G: PID 1 of the candidate's namespace, with a /proc of its own; reaps."""
        try:
            self.jail.libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            signal.signal(signal.SIGINT, signal.SIG_DFL)  # PID 1 then ignores it
            self.jail.proc("/proc")
            candidate = os.fork()
        except OSError as exc:
            _fail(sock, exc)
        if candidate:
            sock.detach()
            self.jail.reap(candidate, self.null)
        os.close(self.null)
        self._candidate(sock)

    def _candidate(self, sock: socket.socket) -> None:
        """H: joins the cgroups it is sent (the next job's, made ahead of it), waits for
        its job, then becomes a cold child's equal and runs it."""
        sock.send(b"ready")
        confined = False
        while True:
            try:
                message, fds, _, _ = socket.recv_fds(sock, MESSAGE, 16)
            except OSError:
                os._exit(0)
            if not message:
                os._exit(0)
            if b'"job"' in message:
                break
            _join(fds)
            if not confined:  # what does not depend on the job, done before it comes
                confined = self._confine()
        sock.detach()
        job = json.loads(message)["job"]
        if len(fds) < 3:
            os._exit(0)
        requests, replies, output, *joins = fds
        _join(joins)
        os.dup2(output, 1)
        os.dup2(output, 2)
        _only((requests, replies))
        if not confined:
            self._confine()
        self.child.lockdown.set_limits(job["limits"])
        os.chdir(job["cwd"])
        self.child.session(requests, replies)

    def _confine(self) -> bool:
        """The layers of box/lockdown.py but the limits; as a fresh process starts."""
        self.jail.libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
        _reseed()
        self.child.lockdown.confine(self.seccomp, self.conf["drop_root"])
        return True

    def _fresh_scratch(self) -> None:
        """An empty size-capped /tmp and /dev/shm for this candidate alone; folders of
        the view that lie under /tmp are bound again on top, with what covers them."""
        jail, size = self.jail, int(self.conf["scratch_bytes"])
        held = [(os.open(dest, os.O_PATH), dest) for dest in self.conf.get("under_tmp", ())]
        jail.tmpfs("/tmp", size, 0o1777)
        for fd, dest in held:
            jail.bind_read_only(f"/proc/self/fd/{fd}", dest, recursive=True)
            os.close(fd)
        jail.tmpfs("/dev/shm", size, 0o1777)

    def _forget(self, keep: tuple[int, ...]) -> None:
        """In a fork: the template's sockets and descriptors are not this process's."""
        self.ctl.detach()
        for _pid, _pidfd, sock in self.all:
            sock.detach()
        self.all = []
        _only(keep)


def _join(cgroup_files: list[int]) -> None:
    """Into these cgroups ("0": this process); all it starts is born in them."""
    for fd in cgroup_files:
        os.write(fd, b"0\n")
        os.close(fd)


def _only(keep) -> None:
    """Close every descriptor from 3 up but `keep`."""
    low = 3
    for fd in sorted(set(keep)) + [MAX_FDS]:
        if fd >= low:
            os.closerange(low, fd)
            low = fd + 1


def _reseed() -> None:
    """numpy's global generator, from fresh entropy, as in a fresh interpreter (Python's
    random reseeds itself after a fork)."""
    import numpy

    numpy.random.seed()


def _fail(sock: socket.socket, exc: OSError) -> None:
    with contextlib.suppress(OSError):
        sock.send(f"cannot make a candidate process: {exc}".encode())
    os._exit(125)
