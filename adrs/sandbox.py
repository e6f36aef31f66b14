"""Parent side of the sandbox: run untrusted candidate code behind a kernel boundary.

The controller never executes candidate code. Each evaluation is a fresh child
(box/child.py) inside namespaces built by bubblewrap or by adrs's own builder
(confine.py picks; sandbox_view.py says what the child sees), in a cgroup of
its own (cgroups.py), locked down by the child itself before it reads a byte
(box/lockdown.py: rlimits, no capabilities, seccomp). Threat model:
docs/architecture.md.

This side is the trusted one, and trusts nothing it gets back:
- it talks to the child over two pipes it created (requests, replies) and
  drains the child's stdout and stderr from a third, keeping a capped tail; it
  never opens a path inside the sandbox;
- it sends the cases one at a time and times each one itself (its own clock,
  and the kernel's CPU accounting of the cgroup), so a candidate can neither
  read the cases it has not yet been given nor report its own runtime;
- every message back is decoded strictly (box/codec.py): anything malformed
  is that candidate's invalid_output, a reply it was not asked for too;
- its deadline is enforced on every read and write, and when the evaluation
  ends everything in the cgroup is killed.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from adrs import cgroups, confine, sandbox_view, seccomp_filter, warm
from adrs.box import codec
from adrs.box.lockdown import NOBODY

CHILD = sandbox_view.BOX / "child.py"
_SAFE_ENV = {
    # `python` in a subprocess is this interpreter, with the same packages
    "PATH": f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
    "USER": "nobody",
    "LOGNAME": "nobody",
    # One BLAS thread: evaluations are already run in parallel, and every thread
    # counts against the task limit.
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
LOG_BYTES = 16 << 10  # of the child's stdout and stderr, the last this many are kept
ADDRESS_SPACE_FACTOR = 4  # address space allowed per MB of memory, where a cgroup caps it
OVERHEAD_TASKS = 8  # the jail's outer process and PID-1 reaper, interpreter threads


@dataclass(frozen=True)
class Limits:
    """Resource limits for one candidate evaluation (the run config's [sandbox])."""

    wall_seconds: float = 30.0
    cpu_seconds: int = 30  # per process (RLIMIT_CPU)
    memory_mb: int = 2048  # everything in the box, tmpfs and shared memory included
    max_processes: int = 32  # processes and threads
    file_mb: int = 64  # largest file it may write
    disk_mb: int = 512  # its scratch /tmp (and /dev/shm), a size-capped tmpfs
    reply_mb: int = 16  # largest single reply (the parent decodes it: a cap on its memory too)
    cpu_share: float = 0.0  # CPUs the box may use at most (cgroup CPU quota); 0 = no cap
    warm: bool = True  # fork candidates from a warm template (adrs/warm.py); False: cold
    mode: str = "auto"  # auto | bwrap | jail | none (unsafe); see adrs/confine.py


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
    warm: bool = False  # it ran in a fork of a warm template (adrs/warm.py), not a cold start


# Called with the decoded probe outputs; returns True to go on with the full evaluation.
ProbeGate = Callable[[list], bool]


class _Ended(Exception):
    """The evaluation ended early; `outcome` says why (or None: ask the process)."""

    def __init__(self, outcome: Outcome | None = None):
        super().__init__(outcome.failure if outcome else "child ended")
        self.outcome = outcome


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
    view = (tuple((*deny_read, *sandbox_view.credential_paths())), tuple(share), tuple(preload))
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
    """One sandboxed child: its cgroup, its pipes, its deadline."""

    def __init__(self, layers: confine.Layers, limits: Limits, hide: tuple[str, ...],
                 share: tuple[str, ...], preload: tuple[str, ...] = ()):
        self.layers, self.limits = layers, limits
        self.inbox, self.log = bytearray(), bytearray()
        self.blobs = b""  # the raw tail of the last binary reply
        self.eof = self.ready = False
        self.proc = self.group = self.scratch = self.template = None
        self.req_w = self.rep_r = self.out_r = -1
        self.kind = (layers.mode, sandbox_view.plan(limits.disk_mb, share, hide), preload)
        try:
            self._start(hide, share)
        except BaseException:
            self.__exit__()
            raise
        self.deadline = time.monotonic() + limits.wall_seconds  # a template's start is not its

    def _start(self, hide, share) -> None:
        self.template = self._template()
        joined = False
        if self.template is not None and self.layers.cgroups.names():
            self.group, joined = self.template.group(self._template_group)
            self.group.limit(self.limits.memory_mb, self.limits.max_processes + OVERHEAD_TASKS,
                             self.limits.cpu_share)
        elif self.layers.cgroups.names():
            self.group = self._new_group()
        if not self.layers.namespaces:
            self.scratch = tempfile.mkdtemp(prefix=f"adrs-sandbox-{os.getpid()}-")
        req_r, self.req_w = os.pipe()
        self.rep_r, rep_w = os.pipe()
        self.out_r, out_w = os.pipe()
        joins = []
        try:
            joins = [os.open(f, os.O_WRONLY | os.O_CLOEXEC)
                     for f in (self.group.procs_files() if self.group and not joined else ())]
            if self.template is not None:
                self.proc = self.template.start([req_r, rep_w, out_w, *joins], self._job())
                if self.layers.cgroups.names():
                    self.template.prepare(self._template_group)
            else:
                self.proc = _Cold(subprocess.Popen(
                    self._argv(req_r, rep_w, joins, hide, share), stdin=subprocess.DEVNULL,
                    stdout=out_w, stderr=out_w, pass_fds=(req_r, rep_w, *joins),
                    start_new_session=True, env=self._env(), cwd=self.scratch or "/"))
        finally:
            for fd in (req_r, rep_w, out_w, *joins):
                os.close(fd)
        for fd in (self.req_w, self.rep_r, self.out_r):
            os.set_blocking(fd, False)

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
            warm.POOL.give(self.kind, self.template)
        for fd in (self.req_w, self.rep_r, self.out_r):
            if fd >= 0:  # -1: closed already (never close a number twice: threads reuse it)
                os.close(fd)
        if self.scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)

    # --- the child: a fork of a warm template, or a fresh interpreter -------------

    def _new_group(self, throttleable: bool = False) -> cgroups.Group:
        return cgroups.Group(self.limits.memory_mb, self.limits.max_processes + OVERHEAD_TASKS,
                             self.limits.cpu_share, throttleable)

    def _template_group(self) -> cgroups.Group:
        """One of a template's two groups, reused by its jobs with their own limits."""
        return self._new_group(throttleable=True)

    def _template(self) -> warm.Template | None:
        if not (self.limits.warm and self.layers.namespaces and warm.enabled()):
            return None
        return warm.POOL.take(self.kind, self._new_template)

    def _new_template(self) -> warm.Template:
        ops = self.kind[1]
        conf = {"preload": list(self.kind[2]), "scratch_bytes": self.limits.disk_mb << 20,
                "drop_root": self.layers.namespaces,
                "under_tmp": list(sandbox_view.under_scratch(ops)), "seccomp": self._seccomp()}
        spec = {"template": conf, "jail": list(ops) if self.layers.mode == "jail" else None}
        return warm.Template(self._command(ops, template=True), self._env(), spec)

    def _job(self) -> dict:
        return {"limits": self._child_limits(), "cwd": self._cwd()}

    # --- the child's command line -------------------------------------------------

    def _env(self) -> dict:
        home = self.scratch or sandbox_view.SCRATCH
        return {**_SAFE_ENV, "HOME": home, "TMPDIR": home, "MPLCONFIGDIR": home,
                "XDG_CACHE_HOME": os.path.join(home, ".cache")}

    def _child_spec(self, req_r: int, rep_w: int, joins: list[int]) -> dict:
        return {"requests": req_r, "replies": rep_w, "cgroups": joins,
                "limits": self._child_limits(), "seccomp": self._seccomp(),
                "drop_root": self.layers.namespaces, "cwd": self._cwd()}

    def _child_limits(self) -> dict:
        limits = {"cpu_seconds": self.limits.cpu_seconds, "file_mb": self.limits.file_mb}
        # the cgroup caps what is used; address space is only a backstop that makes an
        # absurd allocation fail at once (torch and jax reserve more than they use)
        capped = self.group is not None and self.group.caps_memory
        limits["address_space_mb"] = self.limits.memory_mb * (ADDRESS_SPACE_FACTOR if capped
                                                              else 1)
        if not (self.group and self.group.caps_tasks):
            limits["nproc"] = _running_as(self._child_uid()) + self.limits.max_processes
        return limits

    def _seccomp(self) -> str | None:
        program = seccomp_filter.program() if self.layers.seccomp else None
        return base64.b64encode(program).decode() if program else None

    def _cwd(self) -> str:
        return self.scratch or sandbox_view.SCRATCH

    def _child_uid(self) -> int:
        uid = os.getuid()
        return NOBODY if uid == 0 and self.layers.namespaces else uid

    def _argv(self, req_r: int, rep_w: int, joins: list[int], hide, share) -> list[str]:
        spec = self._child_spec(req_r, rep_w, joins)
        ops = self.kind[1]
        if self.layers.mode == "jail":
            spec["jail"] = list(ops)  # the child builds its namespaces itself, first thing
        return [*self._command(ops), json.dumps(spec)]

    def _command(self, ops: tuple, template: bool = False) -> list[str]:
        """The child's command line but its spec: bubblewrap's, or the plain child."""
        child = [sys.executable, "-I", str(CHILD)]
        if self.layers.mode != "bwrap":
            return child
        env = [a for k, v in self._env().items() for a in ("--setenv", k, v)]
        return [self.layers.bwrap, *confine.bwrap_args(ops, keep_caps=template), "--clearenv",
                *env, "--chdir", sandbox_view.SCRATCH, "--", *child]

    # --- the conversation -----------------------------------------------------------

    def converse(self, setup: dict, cases, probes, gate: ProbeGate) -> Outcome:
        try:
            self._send(codec.frame(setup))
            ready = self._message()
            if "failed" in ready:
                return Outcome(False, failure=str(ready["failed"])[:40],
                               error=str(ready.get("error", ""))[:500], log=self._tail())
            if ready.get("ready") is not True:
                return self._invalid("the child's first reply was not 'ready'")
            self.ready = True
            probe = self._probes(probes) if probes is not None else None
            if probe is not None and not gate(probe[0]):
                return Outcome(False, failure="stopped", error="stopped after the probes",
                               probe_outputs=probe[0], probe_seconds=probe[1], stopped=True)
            outcome = self._cases(cases)
        except _Ended as ended:
            outcome = ended.outcome or self._death()
            probe = None
        return replace(outcome, probe_outputs=probe[0], probe_seconds=probe[1]) \
            if probe else outcome

    def _probes(self, probes) -> tuple[list, float]:
        outputs, spent = [], 0.0
        for case in probes:
            reply, seconds, _ = self._ask(case)
            spent += seconds
            # an exception on a probe is behaviour to hash, not a failure
            outputs.append(self._value(reply) if "out" in reply else
                           {"__error__": str(reply.get("type", "Exception"))[:60]})
        return outputs, spent

    def _cases(self, cases) -> Outcome:
        outputs, seconds, cpu = [], [], []
        for case in cases:
            reply, wall, used = self._ask(case)
            if "out" not in reply:
                kind = str(reply.get("raise", "exception"))
                return Outcome(False, failure=kind if kind in ("memory", "invalid_output")
                               else "exception", error=str(reply.get("error", ""))[:500],
                               log=self._tail())
            outputs.append(self._value(reply))
            seconds.append(wall)
            cpu.append(used)
        if self._surplus():
            return self._invalid("the candidate sent more replies than it was asked for")
        has_cpu = all(c is not None for c in cpu)
        return Outcome(True, outputs=outputs, seconds=seconds,
                       cpu_seconds=cpu if has_cpu else None, log=self._tail())

    def _ask(self, case: str) -> tuple[dict, float, float | None]:
        """Send one case, wait for its one reply; the parent's clock and the kernel's
        CPU accounting time it."""
        if self.inbox:
            raise _Ended(self._invalid("the candidate replied before it was asked"))
        cpu0 = self.group.cpu_seconds() if self.group else None
        self._send(codec.frame_raw('{"case": ' + case + "}"))
        start = time.perf_counter()
        reply = self._message()
        wall = time.perf_counter() - start
        cpu1 = self.group.cpu_seconds() if self.group else None
        return reply, wall, (cpu1 - cpu0) if cpu0 is not None and cpu1 is not None else None

    def _surplus(self) -> bool:
        """End the conversation; True if replies nobody asked for arrive before the
        child's end (a forged frame raced ahead of the real one). Waits at most 0.5 s."""
        os.close(self.req_w)
        self.req_w = -1
        until = min(self.deadline, time.monotonic() + 0.5)
        while not self.eof and not self.inbox and (left := until - time.monotonic()) > 0:
            if not select.select([self.rep_r], [], [], left)[0]:
                break
            self._take_reply()
        return bool(self.inbox)

    def _value(self, reply: dict):
        try:
            return codec.decode(reply["out"], blobs=self.blobs)
        except Exception as exc:  # noqa: BLE001 - whatever it sent, it is its failure
            raise _Ended(self._invalid(str(exc))) from None

    def _message(self) -> dict:
        body = self._frame()
        try:
            message, self.blobs = codec.decode_reply(body)
        except codec.BadOutput as exc:
            raise _Ended(self._invalid(str(exc))) from None
        if not isinstance(message, dict):
            raise _Ended(self._invalid("a reply that is not an object"))
        return message

    def _invalid(self, why: str) -> Outcome:
        return Outcome(False, failure="invalid_output", error=why[:300], log=self._tail())

    # --- pipes against the deadline ------------------------------------------------

    def _frame(self) -> bytes:
        cap = self.limits.reply_mb << 20
        while True:
            if len(self.inbox) >= codec.HEADER.size:
                size = codec.HEADER.unpack_from(self.inbox)[0]
                if size > cap:
                    raise _Ended(self._too_large())
                end = codec.HEADER.size + size
                if len(self.inbox) >= end:
                    body = bytes(self.inbox[codec.HEADER.size:end])
                    del self.inbox[:end]
                    return body
            if self.eof or not self._pump(writing=None):
                raise _Ended()

    def _send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if not self._pump(writing=view):
                raise _Ended()
            try:
                view = view[os.write(self.req_w, view[:1 << 16]):]
            except BlockingIOError:
                continue
            except (BrokenPipeError, OSError):
                raise _Ended() from None

    def _pump(self, writing) -> bool:
        """Wait for the next event before the deadline, draining replies and output.
        True when there is something to read from the inbox or room to write."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise _Ended(self._timeout())
        reading = [fd for fd in (self.rep_r, self.out_r) if fd >= 0]
        ready_r, ready_w, _ = select.select(reading, [self.req_w] if writing else [], [], left)
        if not ready_r and not ready_w:
            raise _Ended(self._timeout())
        if self.out_r in ready_r:
            self._drain_output()
        if self.rep_r in ready_r:
            self._take_reply()
            if len(self.inbox) > (self.limits.reply_mb << 20) + codec.HEADER.size:
                raise _Ended(self._too_large())
            if self.eof and writing is None and not self.inbox:
                return False
        return True

    def _take_reply(self) -> None:
        """Move what the reply pipe holds into the inbox; note its end."""
        chunk = _read(self.rep_r)
        self.eof = self.eof or chunk == b""
        self.inbox += chunk or b""

    def _too_large(self) -> Outcome:
        return Outcome(False, failure="output_limit",
                       error=f"reply larger than {self.limits.reply_mb} MB")

    def _drain_output(self) -> None:
        chunk = _read(self.out_r)
        if chunk is None:
            return
        if not chunk:
            os.close(self.out_r)
            self.out_r = -1
            return
        self.log += chunk
        del self.log[:-LOG_BYTES]

    def _tail(self) -> str:
        return self.log.decode("utf-8", "replace")

    def _timeout(self) -> Outcome:
        if self.group is not None and self.group.oom_killed():
            return self._out_of_memory()
        return Outcome(False, failure="timeout", log=self._tail(),
                       error=f"no result within {self.limits.wall_seconds:g} s wall time")

    # --- why the child ended ------------------------------------------------------

    def _out_of_memory(self) -> Outcome:
        return Outcome(False, failure="memory", log=self._tail(),
                       error=f"exceeded {self.limits.memory_mb} MB of memory (if it needs "
                       "more: memory_mb in [limits] of problem.toml, or "
                       "evaluator.memory_limit_mb in an OpenEvolve config)")

    def _death(self) -> Outcome:
        try:  # a template that died raises TemplateDied here: run_candidate tries again
            rc = self.proc.wait(timeout=max(0.0, min(2.0, self.deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            return self._timeout()
        if self.group is not None and self.group.oom_killed():
            return self._out_of_memory()
        signum = -rc if rc < 0 else rc - 128 if self.layers.namespaces and rc > 128 else 0
        if signum == signal.SIGXCPU:
            return Outcome(False, failure="cpu_time", log=self._tail(),
                           error=f"exceeded {self.limits.cpu_seconds} s of CPU time")
        if signum == signal.SIGXFSZ:
            return Outcome(False, failure="output_limit", log=self._tail(),
                           error=f"wrote more than {self.limits.file_mb} MB to a file")
        if rc == 125 and not self.ready and "adrs jail:" in self._tail():
            return Outcome(False, failure="sandbox_error", log=self._tail(),
                           error=_last_line(self._tail()))
        why = f"killed by signal {signum}" if signum else f"exited with code {rc}"
        last = _last_line(self._tail())
        return Outcome(False, failure="crashed", log=self._tail(),
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


def _read(fd: int) -> bytes | None:
    """Up to 64 KiB; b"" at end of file, None if nothing is there after all."""
    try:
        return os.read(fd, 1 << 16)
    except BlockingIOError:
        return None
    except OSError:
        return b""


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def _running_as(uid: int) -> int:
    """Processes of `uid` now (RLIMIT_NPROC counts them all); 0 where /proc is absent."""
    count = 0
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            with contextlib.suppress(OSError):
                count += entry.isdigit() and os.stat(f"/proc/{entry}").st_uid == uid
    return count
