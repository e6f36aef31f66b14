"""Parent side of the sandbox: run untrusted candidate code behind a kernel boundary.

The controller never executes candidate code. Each evaluation is a fresh child
(box/child.py) inside namespaces built by bubblewrap or by adrs's own builder
(confine.py picks; mounts.py says what the child sees), in a cgroup of
its own (cgroups.py), locked down by the child itself before it reads a byte
(box/lockdown.py: rlimits, no capabilities, seccomp). Threat model:
docs/architecture.md.

This side is the trusted one, and trusts nothing it gets back:
- it talks to the child over two pipes it created (requests, replies) and
  drains the child's stdout and stderr from a third, keeping a capped tail
  (sandbox_channel.py); it never opens a path inside the sandbox;
- it sends the cases one at a time and times each one itself (its own clock,
  and the kernel's CPU accounting of the cgroup), so a candidate can neither
  read the cases it has not yet been given nor report its own runtime;
- every message back is decoded strictly (box/codec.py): anything malformed
  is that candidate's invalid_output, a reply it was not asked for too;
- its deadline is enforced on every read and write, and when the evaluation
  ends everything in the cgroup is killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from adrs.config import Limits
from adrs.sandbox import cgroups, confine, mounts, warm
from adrs.sandbox.box import codec
from adrs.sandbox.channel import Channel, Ended
from adrs.sandbox.command import Launch

OVERHEAD_TASKS = 8  # the jail's outer process and PID-1 reaper, interpreter threads


@dataclass(frozen=True)
class Outcome:
    """What came back from one sandboxed run: outputs, or a failure with a reason."""

    ok: bool
    outputs: list | None = None
    seconds: list[float] | None = None  # per case, on the parent's clock
    failure: str | None = None  # short reason code, e.g. "timeout", "memory"
    error: str | None = None  # one line for humans
    wall_seconds: float = 0.0
    probe_outputs: list | None = None  # decoded probe outputs, when probes were run
    probe_seconds: float = 0.0  # parent-measured time of the probes
    stopped: bool = False  # the gate stopped the run after the probes
    cpu_seconds: list[float] | None = None  # per case, kernel accounting (None: no cgroup)
    log: str = ""  # the tail of what the child printed
    retried: bool = False  # its warm template died during the run; this is the second run
    warm: bool = False  # it ran in a fork of a warm template (warm.py), not a cold start
    node: str = ""  # the machine that ran it, as its executor names it ("": this one)


# Called with the decoded probe outputs; returns True to go on with the full evaluation.
ProbeGate = Callable[[list], bool]


def encode_cases(cases: list[dict]) -> tuple[str, ...]:
    """Serialise problem cases once, one JSON text per case, reused for every run."""
    return tuple(json.dumps(codec.encode(c)) for c in cases)


def run_candidate(source: str, entrypoint: str, cases: tuple[str, ...], limits: Limits,
                  deny_read: tuple[str, ...] = (), probes: tuple[str, ...] | None = None,
                  gate: ProbeGate | None = None, harness: str | None = None,
                  preload: tuple[str, ...] = (), share: tuple[str, ...] = ()) -> Outcome:
    """Run `entrypoint(**case)` for every case in a fresh sandbox.

    With `probes`, the candidate first runs on the probe inputs; `gate` sees
    their outputs and may stop the run there (a known behaviour). With a
    `harness` (a problem's source text), the entry point is the harness's, and
    the harness reaches the candidate's functions through its global `candidate`.
    `preload` names modules imported before the candidate (to fail early on a
    missing one); `share` names folders bound read-only into the sandbox (the
    problem's own); `deny_read` paths are hidden wherever a bound folder holds them.
    """
    layers = confine.layers(limits.mode)
    start = time.perf_counter()
    setup = {"source": source, "entrypoint": entrypoint, "harness": harness,
             "preload": list(preload)}
    view = (tuple((*deny_read, *mounts.credential_paths())), tuple(share), tuple(preload))
    retried = False
    try:
        outcome = _attempt(layers, limits, view, setup, cases, probes, gate)
    except warm.TemplateDied:  # not the candidate's doing: once more, in a new template
        retried = True
        try:
            outcome = _attempt(layers, limits, view, setup, cases, probes, gate)
        except warm.TemplateDied as exc:
            outcome = Outcome(False, failure="sandbox_error",
                              error=f"its warm sandbox template died twice ({exc})")
    return replace(outcome, wall_seconds=time.perf_counter() - start, retried=retried)


def _attempt(layers, limits, view, setup, cases, probes, gate) -> Outcome:
    try:
        with _Box(layers, limits, *view) as box:
            outcome = box.converse(setup, cases, probes, gate or (lambda outputs: True))
            return replace(outcome, warm=box.template is not None)
    except OSError as exc:  # the machine could not start a sandbox (fork, cgroup, pipes)
        return Outcome(False, failure="sandbox_error",
                       error=f"could not start the sandbox: {exc}"[:300])


class _Box:
    """One sandboxed child: its cgroup, its pipes, its deadline; start to end."""

    def __init__(self, layers: confine.Layers, limits: Limits, hide: tuple[str, ...],
                 share: tuple[str, ...], preload: tuple[str, ...] = ()):
        self.layers, self.limits = layers, limits
        self.proc = self.group = self.template = self.channel = None
        self.ready = False
        kind = (layers.mode, mounts.plan(limits.disk_mb, share, hide), preload)
        scratch = None if layers.namespaces else \
            tempfile.mkdtemp(prefix=f"adrs-sandbox-{os.getpid()}-")
        self.launch = Launch(layers, limits, kind, scratch)
        try:
            self._start()
        except BaseException:
            self.__exit__()
            raise
        # a template's start is not the candidate's: its clock starts now
        self.channel.deadline = time.monotonic() + limits.wall_seconds

    def _start(self) -> None:
        self.template = self._template()
        joined = False
        if self.template is not None and self.layers.cgroups.names():
            self.group, joined = self.template.group(self._template_group)
            self.group.limit(self.limits.memory_mb, self.limits.max_processes + OVERHEAD_TASKS,
                             self.limits.cpu_share)
        elif self.layers.cgroups.names():
            self.group = self._new_group()
        self.launch.group = self.group
        (req_r, req_w), (rep_r, rep_w), (out_r, out_w) = _pipes(3)
        self.channel = Channel(req_w, rep_r, out_r, self.limits.reply_mb << 20)
        joins = []
        try:
            joins = [os.open(f, os.O_WRONLY | os.O_CLOEXEC)
                     for f in (self.group.procs_files() if self.group and not joined else ())]
            self.proc = self._spawn(req_r, rep_w, out_w, joins)
        finally:
            for fd in (req_r, rep_w, out_w, *joins):
                os.close(fd)

    def _spawn(self, req_r: int, rep_w: int, out_w: int, joins: list[int]):
        """A fork of the warm template, or a fresh interpreter."""
        if self.template is not None:
            proc = self.template.start([req_r, rep_w, out_w, *joins], self.launch.job())
            if self.layers.cgroups.names():
                self.template.prepare(self._template_group)
            return proc
        return _Cold(subprocess.Popen(
            self.launch.argv(req_r, rep_w, joins), stdin=subprocess.DEVNULL, stdout=out_w,
            stderr=out_w, pass_fds=(req_r, rep_w, *joins), start_new_session=True,
            env=self.launch.env(), cwd=self.launch.scratch or "/"))

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            self.proc.kill()
        if self.group is not None and self.template is None:
            self.group.release()  # a template's groups are its own: reused, as they empty
        if self.proc is not None:
            self.proc.end()
        if self.template is not None:
            warm.POOL.give(self.launch.kind, self.template)
        if self.channel is not None:
            self.channel.close()
        if self.launch.scratch:
            shutil.rmtree(self.launch.scratch, ignore_errors=True)

    def _new_group(self, throttleable: bool = False) -> cgroups.Group:
        return cgroups.Group(self.limits.memory_mb, self.limits.max_processes + OVERHEAD_TASKS,
                             self.limits.cpu_share, throttleable)

    def _template_group(self) -> cgroups.Group:
        """One of a template's two groups, reused by its jobs with their own limits."""
        return self._new_group(throttleable=True)

    def _template(self) -> warm.TemplateProcess | None:
        if not (self.limits.warm and self.layers.namespaces and warm.supported()):
            return None
        return warm.POOL.take(self.launch.kind, self.launch.template)

    # --- the conversation -----------------------------------------------------------

    def converse(self, setup: dict, cases, probes, gate: ProbeGate) -> Outcome:
        talk = _Conversation(self.channel, self.group)
        try:
            ready = talk.setup(setup)
            if "failed" in ready:
                return Outcome(False, failure=str(ready["failed"])[:40],
                               error=str(ready.get("error", ""))[:500], log=self.channel.tail())
            self.ready = True
            probe = talk.probes(probes) if probes is not None else None
            if probe is not None and not gate(probe[0]):
                return Outcome(False, failure="stopped", error="stopped after the probes",
                               probe_outputs=probe[0], probe_seconds=probe[1], stopped=True)
            outcome = talk.cases(cases)
        except Ended as ended:
            outcome, probe = _ended(self, ended), None
        return replace(outcome, probe_outputs=probe[0], probe_seconds=probe[1]) \
            if probe else outcome


class _Conversation:
    """The setup, then one case at a time, each timed on the parent's clock and by the
    kernel's CPU accounting; every reply strictly decoded."""

    def __init__(self, channel: Channel, group: cgroups.Group | None):
        self.channel, self.group = channel, group

    def setup(self, setup: dict) -> dict:
        self.channel.send(codec.frame(setup))
        ready = self.channel.message()
        if "failed" not in ready and ready.get("ready") is not True:
            raise Ended("invalid", "the child's first reply was not 'ready'")
        return ready

    def probes(self, probes) -> tuple[list, float]:
        outputs, spent = [], 0.0
        for case in probes:
            reply, seconds, _ = self._ask(case)
            spent += seconds
            # an exception on a probe is behaviour to hash, not a failure
            outputs.append(self._value(reply) if "out" in reply else
                           {"__error__": str(reply.get("type", "Exception"))[:60]})
        return outputs, spent

    def cases(self, cases) -> Outcome:
        outputs, seconds, cpu = [], [], []
        for case in cases:
            reply, wall, used = self._ask(case)
            if "out" not in reply:
                kind = str(reply.get("raise", "exception"))
                return Outcome(False, failure=kind if kind in ("memory", "invalid_output")
                               else "exception", error=str(reply.get("error", ""))[:500],
                               log=self.channel.tail())
            outputs.append(self._value(reply))
            seconds.append(wall)
            cpu.append(used)
        if self.channel.surplus():  # its probes still count: an Outcome, not Ended
            return Outcome(False, failure="invalid_output", log=self.channel.tail(),
                           error="the candidate sent more replies than it was asked for")
        has_cpu = all(c is not None for c in cpu)
        return Outcome(True, outputs=outputs, seconds=seconds,
                       cpu_seconds=cpu if has_cpu else None, log=self.channel.tail())

    def _ask(self, case: str) -> tuple[dict, float, float | None]:
        """Send one case, wait for its one reply; the parent's clock and the kernel's
        CPU accounting time it."""
        if self.channel.inbox:
            raise Ended("invalid", "the candidate replied before it was asked")
        cpu0 = self.group.cpu_seconds() if self.group else None
        # the clock starts before the case is written: the child may start on it while
        # this thread waits for a CPU, and that time is the candidate's too
        start = time.perf_counter()
        self.channel.send(codec.frame_raw('{"case": ' + case + "}"))
        reply = self.channel.message()
        wall = time.perf_counter() - start
        cpu1 = self.group.cpu_seconds() if self.group else None
        return reply, wall, (cpu1 - cpu0) if cpu0 is not None and cpu1 is not None else None

    def _value(self, reply: dict):
        try:
            return codec.decode(reply["out"], blobs=self.channel.blobs)
        except Exception as exc:  # noqa: BLE001 - whatever it sent, it is its failure
            raise Ended("invalid", str(exc)) from None


# --- why the child ended --------------------------------------------------------


def _ended(box: _Box, ended: Ended) -> Outcome:
    log = box.channel.tail()
    if ended.kind == "invalid":
        return Outcome(False, failure="invalid_output", error=ended.why[:300], log=log)
    if ended.kind == "too_large":
        return Outcome(False, failure="output_limit",
                       error=f"reply larger than {box.limits.reply_mb} MB")
    if ended.kind == "timeout":
        return _timeout(box)
    return _death(box)


def _timeout(box: _Box) -> Outcome:
    if box.group is not None and box.group.oom_killed():
        return _out_of_memory(box)
    return Outcome(False, failure="timeout", log=box.channel.tail(),
                   error=f"no result within {box.limits.wall_seconds:g} s wall time")


def _out_of_memory(box: _Box) -> Outcome:
    return Outcome(False, failure="memory", log=box.channel.tail(),
                   error=f"exceeded {box.limits.memory_mb} MB of memory (if it needs "
                   "more: memory_mb in [limits] of problem.toml, or "
                   "evaluator.memory_limit_mb in an OpenEvolve config)")


def _death(box: _Box) -> Outcome:
    log, deadline = box.channel.tail(), box.channel.deadline
    try:  # a template that died raises TemplateDied here: run_candidate tries again
        rc = box.proc.wait(timeout=max(0.0, min(2.0, deadline - time.monotonic())))
    except subprocess.TimeoutExpired:
        return _timeout(box)
    if box.group is not None and box.group.oom_killed():
        return _out_of_memory(box)
    signum = -rc if rc < 0 else rc - 128 if box.layers.namespaces and rc > 128 else 0
    if signum == signal.SIGXCPU:
        return Outcome(False, failure="cpu_time", log=log,
                       error=f"exceeded {box.limits.cpu_seconds} s of CPU time")
    if signum == signal.SIGXFSZ:
        return Outcome(False, failure="output_limit", log=log,
                       error=f"wrote more than {box.limits.file_mb} MB to a file")
    if rc == 125 and not box.ready and "adrs jail:" in log:
        return Outcome(False, failure="sandbox_error", log=log, error=_last_line(log))
    why = f"killed by signal {signum}" if signum else f"exited with code {rc}"
    last = _last_line(log)
    return Outcome(False, failure="crashed", log=log,
                   error=f"{why} before replying" + (f": {last}" if last else ""))


class _Cold:
    """A fresh interpreter started for one evaluation, as a warm Job is driven."""

    def __init__(self, proc: subprocess.Popen):
        self.proc = proc

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int:
        return self.proc.wait(timeout)

    def end(self) -> None:
        self.kill()
        self.proc.wait()


def _pipes(n: int) -> list[tuple[int, int]]:
    """n pipes, or none: those made are closed if a later one fails (out of fds)."""
    made: list[tuple[int, int]] = []
    try:
        for _ in range(n):
            made.append(os.pipe())
    except OSError:
        for fds in made:
            for fd in fds:
                os.close(fd)
        raise
    return made


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""
