"""Parent side of the sandbox: run untrusted candidate code in a confined child process.

The controller never executes candidate code. Each evaluation starts a fresh
`python -I adrs/sandbox_child.py` in a new session with an empty environment
(no API keys), its own scratch directory, CPU-time, address-space,
file-size and process-count limits, and a wall-clock deadline after which the
whole process group is killed. The child returns plain data (JSON, arrays as
raw buffers); the trusted parent decodes it and the problem scores it.
Every way a candidate can fail becomes an `Outcome` with a short reason code.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Outcome:
    """What came back from one sandboxed run: outputs, or a failure with a reason."""

    ok: bool
    outputs: list | None = None
    seconds: list[float] | None = None
    failure: str | None = None  # short reason code, e.g. "timeout", "memory"
    error: str | None = None  # one line for humans
    wall_seconds: float = 0.0


def encode_cases(cases: list[dict]) -> str:
    """Serialise problem cases once; the JSON is reused for every evaluation."""
    return json.dumps([sandbox_child.encode(c) for c in cases])


def run_candidate(source: str, entrypoint: str, cases_json: str, limits: Limits,
                  deny_read: tuple[str, ...] = ()) -> Outcome:
    """Run `entrypoint(**case)` for every case in a confined child process."""
    scratch = tempfile.mkdtemp(prefix="adrs-sandbox-")
    start = time.perf_counter()
    try:
        request = _request(source, entrypoint, cases_json, limits, scratch, deny_read)
        outcome = _execute(request, limits, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return Outcome(**{**outcome.__dict__, "wall_seconds": time.perf_counter() - start})


def _request(source, entrypoint, cases_json, limits, scratch, deny_read) -> bytes:
    head = json.dumps({
        "source": source, "entrypoint": entrypoint, "scratch": scratch,
        "deny_read": list(deny_read),
        "limits": {"cpu_seconds": limits.cpu_seconds, "memory_mb": limits.memory_mb,
                   "max_processes": limits.max_processes, "file_mb": limits.file_mb},
    })
    return (head[:-1] + ', "cases": ' + cases_json + "}").encode()


def _execute(request: bytes, limits: Limits, scratch: str) -> Outcome:
    env = {**_SAFE_ENV, "HOME": scratch, "TMPDIR": scratch}
    proc = subprocess.Popen(
        [sys.executable, "-I", str(CHILD_SCRIPT)], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=scratch, env=env,
        start_new_session=True, close_fds=True,
    )
    deadline = time.monotonic() + limits.wall_seconds
    try:
        _send(proc, request)
        reply, overflow = _read_reply(proc, deadline, limits.reply_mb << 20)
        timed_out = not _wait(proc, deadline)
    finally:
        _kill_group(proc.pid)
        proc.wait()
        proc.stdout.close()
    return _interpret(proc.returncode, reply, overflow, timed_out, limits, scratch)


def _send(proc: subprocess.Popen, request: bytes) -> None:
    try:
        proc.stdin.write(request)
        proc.stdin.close()
    except BrokenPipeError:
        pass  # the child died early; its exit status tells why


def _read_reply(proc, deadline: float, cap: int) -> tuple[bytes, bool]:
    """Read the child's reply until EOF, the deadline, or `cap` bytes."""
    chunks, size = [], 0
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while (left := deadline - time.monotonic()) > 0:
            if not sel.select(timeout=left):
                continue
            chunk = os.read(proc.stdout.fileno(), 1 << 16)
            if not chunk:
                break
            size += len(chunk)
            if size > cap:
                return b"", True
            chunks.append(chunk)
    return b"".join(chunks), False


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
