"""Warm templates on the trusted side: made once per evaluation slot, reused for life.

A template (box/template.py) is an interpreter inside the sandbox's outer
namespaces with numpy and the problem's `preload` imported; each candidate is a
fork of it that enters namespaces of its own and locks itself down. This module
starts templates, lends one to each evaluation in progress (so a pool of N
concurrent evaluations holds N templates per kind), and takes it back when the
evaluation has ended. Every executor gets this, since all of them evaluate
through sandbox.run_candidate in some long-lived process: the local pool's
threads, a Ray worker process, an `adrs worker`.

Where no template can be made (a kernel that refuses the inner namespaces, a
preload that fails to import), evaluations of that kind start cold, as before,
under the same boundary, and this is said once. A template that dies during an
evaluation raises TemplateDied; the sandbox retries that candidate once.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

STARTUP_SECONDS = 120.0  # importing torch on a loaded machine takes a while
END_SECONDS = 5.0  # for a killed candidate's processes to be reaped


class TemplateDied(Exception):
    """The template serving an evaluation ended during it."""


class Unavailable(Exception):
    """No template can be made here; the reason is the message."""


class TemplateProcess:
    """One warm template process and the control socket to it."""

    def __init__(self, argv: list[str], env: dict, spec: dict):
        self.ctl, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        spec = {**spec, "control": theirs.fileno()}
        try:
            self.proc = subprocess.Popen(
                [*argv, json.dumps(spec)], pass_fds=(theirs.fileno(),), env=env, cwd="/",
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                start_new_session=True)
        except OSError as exc:
            self.ctl.close()
            raise Unavailable(f"cannot start it: {exc}") from None
        finally:
            theirs.close()
        self.healthy = False
        self.groups: list = []  # cgroups.Group, two at most, taken in turn by its jobs
        self.prepared = None  # a Future: the next job's groups sent to its process
        self.jobs = 0
        try:
            first = self.next(STARTUP_SECONDS)
        except (TemplateDied, subprocess.TimeoutExpired):
            first = {"failed": self._why_dead()}
        if first.get("ready") is not True:
            self.close()
            raise Unavailable(str(first.get("failed", first))[:300])
        self.proc.stderr.close()
        self.healthy = True

    def alive(self) -> bool:
        """Still running, and no end of its control socket seen."""
        return self.healthy and self.proc.poll() is None

    def _why_dead(self) -> str:
        self.close()
        lines = self.proc.stderr.read().decode(errors="replace").strip().splitlines()
        return lines[-1][:300] if lines else f"it exited with code {self.proc.returncode}"

    def start(self, fds: list[int], job: dict) -> Job:
        """Hand the template one job (its pipes as descriptors); the Job to drive it."""
        self._drain()
        self.jobs += 1
        message = json.dumps({"job": {**job, "id": self.jobs}}).encode()
        try:
            socket.send_fds(self.ctl, [message], fds)
        except OSError:
            self.healthy = False
            raise TemplateDied("the template had ended before the job") from None
        return Job(self, self.jobs)

    def _drain(self) -> None:
        """Drop the ends of earlier jobs nobody waited for (they must not fill the
        socket)."""
        with contextlib.suppress(BlockingIOError, InterruptedError):
            while self.ctl.recv(1 << 16, socket.MSG_DONTWAIT):
                pass

    def group(self, make: Callable):
        """The next job's cgroups and whether its process has joined them already.
        A template keeps two and alternates: the next job's process joins its group
        while the current job runs in the other. A group is reused only when empty:
        the template starts a job only after the last one's processes are gone, and
        the spare that joins a group is made after that."""
        prepared, self.prepared = self.prepared, None
        joined = False
        if prepared is not None:
            try:
                prepared.result()
                joined = True
            except OSError:  # not sent: the job brings its groups itself, as a first does
                pass
        while len(self.groups) < 1 + (self.jobs > 0):
            self.groups.append(make())
        group = self.groups[self.jobs % 2]
        group.begin()
        return group, joined

    def prepare(self, make: Callable) -> None:
        """Send the job after this one its cgroups now (made, the first time, in the
        background), so that joining them is off its path (slow in cgroup v1)."""
        self.prepared = MAKER.submit(self._send_group, make)

    def _send_group(self, make: Callable) -> None:
        if len(self.groups) < 2:
            self.groups.append(make())
        group = self.groups[self.jobs % 2]  # jobs: the job just started
        fds = [os.open(f, os.O_WRONLY | os.O_CLOEXEC) for f in group.procs_files()]
        try:
            socket.send_fds(self.ctl, [b'{"group": true}'], fds)
        finally:
            for fd in fds:
                os.close(fd)

    def next(self, timeout: float | None) -> dict:
        """The template's next message; TemplateDied at its end, TimeoutExpired."""
        if not select.select([self.ctl], [], [], timeout)[0]:
            raise subprocess.TimeoutExpired("adrs template", timeout)
        try:
            data = self.ctl.recv(1 << 16)
        except OSError:
            data = b""
        if not data:
            self.healthy = False
            raise TemplateDied("the template ended")
        return json.loads(data)

    def close(self) -> None:
        """End the template and everything it started."""
        self.healthy = False
        self.ctl.close()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        if self.prepared is not None:
            with contextlib.suppress(OSError):
                self.prepared.result()
        for group in self.groups:
            group.release()
        self.groups = []


class Job:
    """One candidate running in a fork of a template: what the sandbox's Popen was.
    The template starts no other job before this one's processes are all gone, so
    nobody needs to wait for its end unless it wants the exit status."""

    def __init__(self, template: TemplateProcess, number: int):
        self.template, self.number, self.status = template, number, None

    def kill(self) -> None:
        """Ask the template to kill this job's candidate (no-op once it has ended)."""
        if self.status is None:
            with contextlib.suppress(OSError):
                self.template.ctl.send(json.dumps({"kill": self.number}).encode())

    def wait(self, timeout: float | None = None) -> int:
        """The candidate's exit status (128 + N for a signal), as bubblewrap gives it."""
        deadline = time.monotonic() + (timeout if timeout is not None else 1e9)
        while self.status is None:
            message = self.template.next(max(0.0, deadline - time.monotonic()))
            if message.get("id") == self.number:
                self.status = int(message["exit"])
        return self.status

    def end(self) -> None:
        """Kill the candidate; no wait: the template starts no other job before this
        one's processes are gone."""
        self.kill()


class Pool:
    """Idle templates by kind; a kind that cannot be made is remembered as cold."""

    def __init__(self):
        self.idle: dict[tuple, list[TemplateProcess]] = {}
        self.cold: dict[tuple, str] = {}
        self.lock = threading.Lock()
        # Templates die with the thread that started them (PDEATHSIG): one long-lived
        # thread starts them all, so none dies with an evaluation thread.
        self.starter = ThreadPoolExecutor(1, thread_name_prefix="adrs-template")

    def take(self, kind: tuple, make: Callable[[], TemplateProcess]) -> TemplateProcess | None:
        """An idle template of `kind`, or a new one from `make`; None where that kind
    cannot be warm here (said once)."""
        with self.lock:
            if kind in self.cold:
                return None
            idle = self.idle.setdefault(kind, [])
            while idle:
                template = idle.pop()
                if template.alive():
                    return template
                template.close()
        try:
            return self.starter.submit(make).result()
        except Unavailable as exc:
            with self.lock:
                first = kind not in self.cold
                self.cold[kind] = str(exc)
            if first:
                print(f"adrs: no warm sandbox ({exc}); each evaluation starts a fresh "
                      "interpreter, under the same boundary", file=sys.stderr, flush=True)
            return None

    def give(self, kind: tuple, template: TemplateProcess) -> None:
        """Take a template back after an evaluation (a dead one is closed)."""
        if template.alive():
            with self.lock:
                self.idle.setdefault(kind, []).append(template)
        else:
            template.close()

    def close(self) -> None:
        """End every idle template, and forget which kinds could not be made."""
        with self.lock:
            templates = [t for idle in self.idle.values() for t in idle]
            self.idle.clear()
            self.cold.clear()
        for template in templates:
            template.close()

    def count(self) -> int:
        """Idle templates, over all kinds."""
        with self.lock:
            return sum(len(idle) for idle in self.idle.values())


# Sends (and the first time makes) the next job's cgroups, off the evaluations' path.
MAKER = ThreadPoolExecutor(1, thread_name_prefix="adrs-cgroups")
POOL = Pool()
atexit.register(POOL.close)


def supported() -> bool:
    """Whether this Python can watch a template's end (pidfd); `[sandbox] warm` (or
    ADRS_WARM=0, read with the configuration) decides whether templates are used."""
    return hasattr(os, "pidfd_open")

