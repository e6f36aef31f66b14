"""A warm template: one interpreter, loaded once, from which every candidate is forked.

Started like a cold child (child.py, inside the same namespaces: bubblewrap's or
jail.py's), with SPEC["template"]; it is trusted and does not lock itself down.
It imports numpy and the problem's `preload` once, then serves the controller
(adrs/warm.py) over a SOCK_SEQPACKET socket. It keeps one *spare* ready: a
process already in namespaces of its own, with a fresh size-capped /tmp and
/dev/shm and a /proc of its own, waiting for a job. A job carries the
candidate's pipes and cgroup files (SCM_RIGHTS) and its limits; the spare joins
the cgroups, locks itself down (lockdown.py, as a cold child does) and talks to
the controller exactly as a cold child would. While it runs, the template forks
the next spare, so no fork is left on the path from job to reply.

The processes of one candidate, F, G and H, are made by box/spare.py; each
dies with its parent (PDEATHSIG), so a template that dies
takes its candidates with it; the controller then retries them. Nothing one
candidate did is in the next one's process, files, descriptors, shared memory
or processes: each is a fresh fork of a template no candidate code ever ran in.

Control messages (JSON, one per datagram): template -> {"ready": true} or
{"failed": why}; controller -> {"group": true} with the next job's cgroup files
(passed on to the spare that will run it, which joins them while it waits);
controller -> {"job": {..., "id": n}} with the pipes (and, for a template's
first job, its cgroup files); template -> {"exit": status, "id": n} once job
n's processes have all ended (status as bubblewrap reports it: 128 + N for
signal N); controller -> {"kill": n} ends job n at once (a kill for a job that
has ended is dropped). A job, and whatever comes after it, that arrives while
another runs waits for that one's end, and is then handled as if it came then;
the next job's cgroups, sent while a job runs and none waits, go at once to the
spare that will run it, so that joining them (slow in cgroup v1) overlaps the
running job.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import select
import signal
import socket

PR_SET_DUMPABLE = 4
MESSAGE = 1 << 16


class Template:
    """The warm template inside the box: numpy and `preload` imported once, then each
    job served by a spare forked ahead of it."""

    def __init__(self, spec: dict, child):
        self.child, self.jail = child, child._sibling("jail")
        self.conf = spec["template"]
        self.ctl = socket.socket(fileno=spec["control"])
        self.null = os.open("/dev/null", os.O_RDWR)
        seccomp = base64.b64decode(self.conf["seccomp"]) if self.conf.get("seccomp") else None
        self.spares = child._sibling("spare").Spares(child, self.conf, seccomp, self.ctl,
                                                     self.null)
        self.running = None  # (its spare, its job id)
        self.waiting: list[tuple[bytes, list[int]]] = []  # messages held back meanwhile

    # --- the template's loop ------------------------------------------------------

    def serve(self) -> None:
        """Import what every candidate gets, say ready, then serve jobs until the control
    socket closes."""
        try:
            import numpy.random  # noqa: F401  (what every candidate gets, loaded once)

            for name in self.conf.get("preload", ()):
                importlib.import_module(name)
            self.jail.libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # no candidate may read it
            spare = self.spares.make()
            first = spare[2].recv(MESSAGE)
            if first != b"ready":
                raise OSError(first.decode(errors="replace") or "its first candidate process "
                              f"ended with status {self._ended(spare)}")
        except BaseException as exc:  # noqa: BLE001 - say why: the controller goes cold
            self._say({"failed": self.child.one_line(exc)})
            os._exit(0)
        self._say({"ready": True})
        os.dup2(self.null, 2)  # the controller no longer reads the template's own output
        while True:
            self._step()

    def _step(self) -> None:
        """One event: the running job's end, or a message from the controller."""
        watched = [self.ctl] + ([self.running[0][1]] if self.running else [])
        ready, _, _ = select.select(watched, [], [])
        if self.running and self.running[0][1] in ready:
            self._job_ended()
        if self.ctl in ready:
            message = self._next()
            if message is None:  # the controller has gone: so does everything here
                self.spares.kill_all()
                os._exit(0)
            self._handle(*message)

    def _job_ended(self) -> None:
        """Say so; then what came during the job, in order, is handled as if it came
        now: the next job starts, and the cgroups sent for the job after it go to the
        spare made for that one at once, not when the next job ends."""
        (spare, number), self.running = self.running, None
        self._say({"exit": self._ended(spare), "id": number})
        self.spares.drop(spare)
        held, self.waiting = self.waiting, []
        for message, fds in held:
            self._handle(message, fds)

    def _handle(self, message: bytes, fds: list[int]) -> None:
        """A job goes to the newest spare, which then has a successor made; one job at a
        time: a job (and all after it) that comes while one runs waits for its end, so
        no candidate starts before the last one's processes are gone. The cgroups made
        for the next job go to the spare that will run it (the newest) at once, while
        the job before it runs, unless a job waits before them."""
        order = json.loads(message)
        if "kill" in order:
            for fd in fds:
                os.close(fd)
            if self.running and self.running[1] == order["kill"]:
                os.kill(self.running[0][0], signal.SIGKILL)
            else:
                self._cancel(order["kill"])
        elif self.waiting or (self.running and b'"job"' in message):
            self.waiting.append((message, fds))
        else:
            self._pass_on(message, fds)

    def _pass_on(self, message: bytes, fds: list[int]) -> None:
        spare = self.spares.all[-1]
        _hand(spare, message, fds)
        order = json.loads(message)
        if "job" in order:
            self.running = (spare, order["job"]["id"])
            self.spares.make()

    def _cancel(self, number: int) -> None:
        """A waiting job killed before it started ended at once; a kill for a job that
        has ended already is dropped."""
        for item in [w for w in self.waiting if _job_id(w[0]) == number]:
            self.waiting.remove(item)
            for fd in item[1]:
                os.close(fd)
            self._say({"exit": 128 + signal.SIGKILL, "id": number})

    def _next(self) -> tuple[bytes, list[int]] | None:
        try:
            message, fds, _, _ = socket.recv_fds(self.ctl, MESSAGE, 16)
        except OSError:
            return None
        return (message, fds) if message else None

    def _ended(self, spare) -> int:
        return self.jail.status_code(os.waitpid(spare[0], 0)[1])

    def _say(self, message: dict) -> None:
        self.ctl.send(json.dumps(message).encode())


def _hand(spare, message: bytes, fds: list[int]) -> None:
    try:
        socket.send_fds(spare[2], [message], fds)
    except OSError:
        pass  # the spare is gone: its status says so
    for fd in fds:
        os.close(fd)


def _job_id(message: bytes) -> int | None:
    return json.loads(message).get("job", {}).get("id")


def serve(spec: dict, child) -> None:
    """The template's entry point, from box/child.py."""
    Template(spec, child).serve()
