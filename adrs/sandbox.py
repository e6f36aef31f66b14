"""Parent side of the sandbox: run untrusted candidate code in a confined child process.

The controller never executes candidate code. Each evaluation starts a fresh
`python -I adrs/sandbox_child.py` in a new session with an empty environment
(no API keys), its own scratch directory, CPU-time, address-space,
file-size and process-count limits, and a wall-clock deadline after which the
whole process group is killed. The child returns plain data (JSON, arrays as
raw buffers); the trusted parent decodes it and the problem scores it.
Every way a candidate can fail becomes an `Outcome` with a short reason code.

Outer layer, where the machine allows it (see `confinement()`): the child runs
under bubblewrap in its own PID, network, IPC and UTS namespaces, with the
whole filesystem read-only except its scratch directory, a private /tmp and
/proc (so no other process's environment is visible), and the archive hidden;
when the child dies, every process in its namespace dies with it. A pids
cgroup caps how many processes it may have (RLIMIT_NPROC does not bind root)
and lets the parent kill every one of them afterwards. Without bubblewrap or
a writable cgroup, the inner layer (rlimits, audit hooks) stands alone and
adrs says so once.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
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
from pathlib import Path

from adrs import sandbox_child

CHILD_SCRIPT = Path(sandbox_child.__file__).resolve()
_SAFE_ENV = {
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "PYTHONHASHSEED": "0",
    # One BLAS thread: evaluations are already run in parallel, and every thread
    # would count against the process limit.
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


@dataclass(frozen=True)
class Limits:
    """Resource limits for one candidate evaluation."""

    wall_seconds: float = 30.0
    cpu_seconds: int = 30
    memory_mb: int = 2048
    max_processes: int = 16
    file_mb: int = 16
    reply_mb: int = 64
    # The inner layer's audit hook; turn it off only to test the outer layer alone.
    audit_hook: bool = True


@dataclass(frozen=True)
class Outcome:
    """What came back from one sandboxed run: outputs, or a failure with a reason."""

    ok: bool
    outputs: list | None = None
    seconds: list[float] | None = None
    failure: str | None = None  # short reason code, e.g. "timeout", "memory"
    error: str | None = None  # one line for humans
    wall_seconds: float = 0.0
    probe_outputs: list | None = None  # decoded probe outputs, when probes were run
    probe_seconds: float = 0.0  # time the candidate spent on the probes
    stopped: bool = False  # the gate stopped the run after the probes


# Called with the decoded probe outputs; returns True to go on with the full evaluation.
ProbeGate = Callable[[list], bool]


@dataclass(frozen=True)
class Confinement:
    """What the outer layer can use on this machine."""

    bwrap: str | None  # bubblewrap binary, if it works here
    pids_root: Path | None  # a writable pids cgroup hierarchy

    def describe(self) -> str:
        parts = ["namespaces (bubblewrap)" if self.bwrap else "no namespaces",
                 "pids cgroup" if self.pids_root else "no pids cgroup"]
        return ", ".join(parts)


@functools.lru_cache(maxsize=1)
def confinement() -> Confinement:
    """Probe once per process; `ADRS_SANDBOX=basic` turns the outer layer off."""
    if os.environ.get("ADRS_SANDBOX") == "basic" or sys.platform != "linux":
        found = Confinement(None, None)
    else:
        found = Confinement(_working_bwrap(), _writable_pids_root())
    if not (found.bwrap and found.pids_root):
        print(f"adrs: sandbox: {found.describe()}; candidates are confined by resource limits "
              "and audit hooks"
              + ("" if found.bwrap else " (install bubblewrap for namespaces)")
              + " - see docs/architecture.md, threat model", file=sys.stderr)
    return found


def _working_bwrap() -> str | None:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return None
    try:
        ok = subprocess.run([bwrap, *_BWRAP_BASE, "true"], capture_output=True,
                            timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    return bwrap if ok else None


def _writable_pids_root() -> Path | None:
    """cgroup v1's pids hierarchy, or v2's root if it delegates pids: usable if we may
    create a group there and the group gets a pids.max."""
    for root in (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")):
        probe = root / f"adrs-probe-{os.getpid()}"
        try:
            probe.mkdir()
        except OSError:
            continue
        usable = (probe / "pids.max").exists()
        with contextlib.suppress(OSError):
            probe.rmdir()
        if usable:
            return root
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


_BWRAP_BASE = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
               "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
               "--die-with-parent"]
_cgroup_ids = itertools.count()

# Where the controller's user keeps credentials (a Ray cluster token, SSH and cloud
# keys, database passwords): hidden from candidates, like the archive. A deny list,
# so not exhaustive; the rest of the filesystem is readable (never writable).
CREDENTIALS = (".ray", ".ssh", ".aws", ".azure", ".config/gcloud", ".kube", ".docker",
               ".gnupg", ".netrc", ".pgpass", ".git-credentials", ".pypirc",
               ".cache/huggingface", ".config/openai")


def credential_paths() -> tuple[str, ...]:
    home = os.path.expanduser("~")
    return tuple(p for p in (os.path.join(home, c) for c in CREDENTIALS) if os.path.exists(p))


def encode_cases(cases: list[dict]) -> str:
    """Serialise problem cases once; the JSON is reused for every evaluation."""
    return json.dumps([sandbox_child.encode(c) for c in cases])


def run_candidate(source: str, entrypoint: str, cases_json: str, limits: Limits,
                  deny_read: tuple[str, ...] = (), probes_json: str | None = None,
                  gate: ProbeGate | None = None, harness: str | None = None,
                  preload: tuple[str, ...] = ()) -> Outcome:
    """Run `entrypoint(**case)` for every case in a confined child process.

    With `probes_json`, the candidate first runs on the probe inputs; `gate`
    sees their outputs and may stop the run there (a known behaviour). With a
    `harness` (a problem's source text), the entry point is the harness's, and
    the harness reaches the candidate's functions through its global `candidate`.
    `preload` names modules imported before confinement (libraries that import
    sockets or subprocess at import time); using those facilities is still refused.
    """
    scratch = tempfile.mkdtemp(prefix="adrs-sandbox-")
    start = time.perf_counter()
    deny_read = (*deny_read, *credential_paths())
    try:
        request = _request(source, entrypoint, cases_json, limits, scratch, deny_read,
                           probes_json, harness, preload)
        outcome = _execute(request, limits, scratch, gate or (lambda outputs: True), deny_read)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return replace(outcome, wall_seconds=time.perf_counter() - start)


def _request(source, entrypoint, cases_json, limits, scratch, deny_read, probes_json,
             harness, preload) -> bytes:
    head = json.dumps({
        "source": source, "entrypoint": entrypoint, "scratch": scratch, "harness": harness,
        "preload": list(preload), "audit_hook": limits.audit_hook,
        "deny_read": list(deny_read),
        "limits": {"cpu_seconds": limits.cpu_seconds, "memory_mb": limits.memory_mb,
                   "max_processes": limits.max_processes, "file_mb": limits.file_mb},
    })
    probes = f', "probes": {probes_json}' if probes_json else ""
    return (head[:-1] + ', "cases": ' + cases_json + probes + "}\n").encode()


def _command(scratch: str, deny_read: tuple[str, ...], cgroup: Path | None) -> list[str]:
    argv = [sys.executable, "-I", str(CHILD_SCRIPT)]
    outer = confinement()
    if outer.bwrap:
        keep = [arg for path in _runtime_under_tmp() for arg in ("--ro-bind", path, path)]
        hide = [arg for path in deny_read  # the archive, credentials: empty inside
                for arg in (("--tmpfs", path) if os.path.isdir(path) else
                            ("--ro-bind", "/dev/null", path) if os.path.exists(path) else ())]
        argv = [outer.bwrap, *_BWRAP_BASE, *keep, "--bind", scratch, scratch, *hide,
                "--chdir", scratch, "--", *argv]
    if cgroup is not None:  # join the cgroup first, so every descendant is born in it
        argv = ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(cgroup),
                *argv]
    return argv


@functools.lru_cache(maxsize=1)
def _runtime_under_tmp() -> tuple[str, ...]:
    """The sandbox's /tmp is private, but Python, its packages or adrs itself may live in
    /tmp (a CI virtual environment): those folders are bound back, read-only."""
    wanted = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(CHILD_SCRIPT.parent),
              *sys.path}
    found = sorted(os.path.realpath(p) for p in wanted if p and os.path.isdir(p))
    under = [p for p in found if p == "/tmp" or p.startswith("/tmp/")]
    return tuple(p for p in under if not any(p.startswith(q + "/") for q in under))


def _cgroup(limits: Limits) -> Path | None:
    root = confinement().pids_root
    if root is None:
        return None
    group = root / f"adrs-{os.getpid()}-{next(_cgroup_ids)}"
    try:
        group.mkdir()
        (group / "pids.max").write_text(str(limits.max_processes + 4))  # + sh, bwrap, python
    except OSError:
        return None
    return group


def _release(group: Path | None) -> None:
    """Kill whatever is left in the cgroup (setsid cannot leave it), then remove it."""
    if group is None:
        return
    for _ in range(50):
        pids = _read(group / "cgroup.procs").split()
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        time.sleep(0.01)
    with contextlib.suppress(OSError):
        group.rmdir()


def _execute(request: bytes, limits: Limits, scratch: str, gate: ProbeGate,
             deny_read: tuple[str, ...] = ()) -> Outcome:
    env = {**_SAFE_ENV, "HOME": scratch, "TMPDIR": scratch}
    group = _cgroup(limits)
    try:
        return _supervise(request, limits, scratch, gate, env,
                          _command(scratch, deny_read, group))
    finally:
        _release(group)


def _supervise(request: bytes, limits: Limits, scratch: str, gate: ProbeGate, env: dict,
               argv: list[str]) -> Outcome:
    proc = subprocess.Popen(
        argv, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=scratch, env=env,
        start_new_session=True, close_fds=True,
    )
    reader = _Reader(proc.stdout.fileno(), time.monotonic() + limits.wall_seconds,
                     limits.reply_mb << 20)
    probe = None
    try:
        _send(proc, request, close=False)
        reply = reader.line()
        if reply.startswith(b'{"phase": "probe"'):
            probe = _parse_probe(reply)
            go = probe is not None and gate(probe[0])
            _send(proc, b"c" if go else b"s", close=True)
            if not go:
                return _stopped(probe)
            reply = reader.rest()
        timed_out = not _wait(proc, reader.deadline)
    finally:
        _kill_group(proc.pid)
        proc.wait()
        proc.stdout.close()
        if proc.stdin and not proc.stdin.closed:
            _send(proc, b"", close=True)
    out = _interpret(_status(proc.returncode), reply, reader.overflow, timed_out, limits,
                     scratch)
    return replace(out, probe_outputs=probe[0], probe_seconds=probe[1]) if probe else out


def _stopped(probe) -> Outcome:
    return Outcome(False, failure="stopped", error="stopped after the probes",
                   probe_outputs=probe[0], probe_seconds=probe[1], stopped=True)


def _parse_probe(line: bytes) -> tuple[list, float] | None:
    try:
        data = json.loads(line)
        return [sandbox_child.decode(o) for o in data["outputs"]], float(data["seconds"])
    except (ValueError, KeyError, TypeError):
        return None


def _send(proc: subprocess.Popen, data: bytes, close: bool) -> None:
    try:
        proc.stdin.write(data)
        proc.stdin.flush()
        if close:
            proc.stdin.close()
    except (BrokenPipeError, ValueError):
        pass  # the child died early; its exit status tells why


class _Reader:
    """Reads the child's reply pipe against a deadline and a size cap."""

    def __init__(self, fd: int, deadline: float, cap: int):
        self.fd, self.deadline, self.cap = fd, deadline, cap
        self.buffer = bytearray()
        self.overflow = self.eof = False

    def line(self) -> bytes:
        """Up to and excluding the first newline, or everything until EOF."""
        scanned = 0
        while (at := self.buffer.find(b"\n", scanned)) < 0:
            scanned = len(self.buffer)
            if not self._more():
                return self._take(len(self.buffer))
        head = self._take(at)
        del self.buffer[:1]
        return head

    def rest(self) -> bytes:
        while self._more():
            pass
        return self._take(len(self.buffer))

    def _take(self, n: int) -> bytes:
        head = bytes(self.buffer[:n])
        del self.buffer[:n]
        return head

    def _more(self) -> bool:
        if self.eof or self.overflow:
            return False
        left = self.deadline - time.monotonic()
        if left <= 0 or not select.select([self.fd], [], [], left)[0]:
            return False
        chunk = os.read(self.fd, 1 << 16)
        self.eof = not chunk
        self.buffer += chunk
        self.overflow = len(self.buffer) > self.cap
        return bool(chunk) and not self.overflow


def _status(rc: int) -> int:
    """bubblewrap reports a child killed by signal N as exit status 128 + N."""
    return -(rc - 128) if confinement().bwrap and rc > 128 else rc


def _wait(proc: subprocess.Popen, deadline: float) -> bool:
    try:
        proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        return True
    except subprocess.TimeoutExpired:
        return False


def _kill_group(pgid: int) -> None:
    """Kill the child's whole process group, including anything it left behind."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _interpret(rc, reply: bytes, overflow: bool, timed_out: bool, limits: Limits,
               scratch: str) -> Outcome:
    if overflow:
        return Outcome(False, failure="output_limit",
                       error=f"reply larger than {limits.reply_mb} MB")
    if reply:
        return _parse_reply(reply)
    if timed_out:
        return Outcome(False, failure="timeout",
                       error=f"no result within {limits.wall_seconds:g} s wall time")
    if rc == -signal.SIGXCPU:
        return Outcome(False, failure="cpu_time",
                       error=f"exceeded {limits.cpu_seconds} s of CPU time")
    if rc == -signal.SIGXFSZ:
        return Outcome(False, failure="output_limit",
                       error=f"wrote more than {limits.file_mb} MB to a file")
    why = f"killed by signal {-rc}" if rc < 0 else f"exited with code {rc}"
    return Outcome(False, failure="crashed", error=f"{why} before replying{_stderr_tail(scratch)}")


def _parse_reply(reply: bytes) -> Outcome:
    try:
        data = json.loads(reply)
        if data.get("status") != "ok":
            return Outcome(False, failure=str(data.get("failure", "unknown"))[:40],
                           error=str(data.get("error", ""))[:500])
        outputs = [sandbox_child.decode(o) for o in data["outputs"]]
        seconds = [float(s) for s in data["seconds"]]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return Outcome(False, failure="invalid_output", error=f"malformed reply: {exc}"[:300])
    return Outcome(True, outputs=outputs, seconds=seconds)


def _stderr_tail(scratch: str) -> str:
    try:
        lines = Path(scratch, "stderr.txt").read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return f": {lines[-1][:200]}" if lines else ""
