"""Child side of the sandbox: runs one untrusted candidate and reports plain data.

Started by `adrs.sandbox` as `python -I sandbox_child.py` with an empty
environment and a new session. It reads one JSON request line from stdin, applies
resource limits, installs an audit hook that refuses process creation,
sockets, native calls and writes outside the scratch directory, then runs the
candidate's entry point on every case and writes one JSON reply to the pipe
that was stdout. If the request has probes, their outputs go first, as one
line, and the child waits for one byte on stdin: "c" to go on to the full
evaluation, anything else to stop (the parent found a known behaviour). The
candidate's own prints go to files in the scratch directory, so they cannot
corrupt the reply.

This file must stay importable without side effects and must use only the
standard library and numpy: the parent imports its codec.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import types

REPLY_FD_ENV = "ADRS_REPLY_FD"
_NUMERIC_KINDS = "biuf"
_MAX_DEPTH = 8


class BadOutput(ValueError):
    """The candidate returned something that is not plain numeric data."""


# --- codec: plain JSON, numpy arrays as raw little-endian buffers, never pickle ---


def encode(value, depth: int = 0):
    """Turn a candidate's return value into JSON-able data, or raise BadOutput."""
    import numpy as np

    if depth > _MAX_DEPTH:
        raise BadOutput("output is nested too deeply")
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in _NUMERIC_KINDS:
            raise BadOutput(f"array of dtype {value.dtype} is not numeric")
        a = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<"))
        return {"__ndarray__": a.dtype.str, "shape": list(a.shape),
                "data": base64.b64encode(a.tobytes()).decode("ascii")}
    if isinstance(value, np.generic):
        return encode(value.item(), depth + 1)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [encode(v, depth + 1) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: encode(v, depth + 1) for k, v in value.items()}
    raise BadOutput(f"cannot return a value of type {type(value).__name__}")


def decode(value):
    """Inverse of encode; validates dtypes and sizes so hostile replies fail cleanly."""
    import numpy as np

    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        if "__ndarray__" not in value:
            return {k: decode(v) for k, v in value.items()}
        dtype = np.dtype(value["__ndarray__"])
        if dtype.kind not in _NUMERIC_KINDS:
            raise BadOutput(f"array of dtype {dtype} is not numeric")
        shape = tuple(int(n) for n in value["shape"])
        raw = base64.b64decode(value["data"])
        if len(raw) != dtype.itemsize * int(np.prod(shape, dtype=np.int64)):
            raise BadOutput("array data does not match its shape")
        return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    return value


# --- confinement -----------------------------------------------------------------

_DENIED_EVENTS = {
    "os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
    "subprocess.Popen", "os.kill", "os.killpg", "pty.spawn",
    "socket.__new__", "socket.connect", "socket.bind",
    "ctypes.dlopen", "ctypes.dlsym", "ctypes.call_function", "ctypes.cdata",
    "sys.addaudithook", "os.setuid", "os.setgid",
}
_DENIED_MODULES = {"_posixsubprocess", "subprocess", "multiprocessing", "socket", "_socket",
                   "ctypes", "_ctypes", "pty", "adrs", "evaluators", "problems"}
_PATH_EVENTS = {  # event -> indexes of path arguments that are written to
    "os.remove": (0,), "os.rmdir": (0,), "os.mkdir": (0,), "os.rename": (0, 1),
    "os.chmod": (0,), "os.chown": (0,), "os.symlink": (1,), "os.link": (1,),
    "os.truncate": (0,), "os.utime": (0,), "shutil.rmtree": (0,),
}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _confine(scratch: str, deny_read: list[str]) -> None:
    """Install an audit hook (it cannot be removed) enforcing the sandbox policy."""
    scratch = os.path.realpath(scratch) + os.sep
    denied = [os.path.realpath(p) for p in deny_read]

    def inside(path, root):
        return os.path.realpath(os.fsdecode(path)).startswith(root)

    def hook(event, args):
        if event in _DENIED_EVENTS:
            raise PermissionError(f"sandbox: {event} is not allowed")
        if event == "import" and str(args[0]).split(".")[0] in _DENIED_MODULES:
            raise ImportError(f"sandbox: importing {args[0]} is not allowed")
        if event == "open" and not isinstance(args[0], int):
            path, mode, flags = args
            p = os.path.realpath(os.fsdecode(path))
            if p.startswith("/proc/") and p.endswith("/environ"):
                raise PermissionError("sandbox: reading process environments is not allowed")
            if any(p == d or p.startswith(d + os.sep) for d in denied):
                raise PermissionError(f"sandbox: {p} is not readable")
            writing = any(c in (mode or "") for c in "wax+") or (flags or 0) & _WRITE_FLAGS
            if writing and not p.startswith(scratch):
                raise PermissionError(f"sandbox: writing {p} is not allowed")
        elif event in _PATH_EVENTS:
            for i in _PATH_EVENTS[event]:
                if isinstance(args[i], (str, bytes)) and not inside(args[i], scratch):
                    raise PermissionError(f"sandbox: {event} outside the scratch dir")

    for name in list(sys.modules):  # cached modules import without an audit event
        if name.split(".")[0] in _DENIED_MODULES:
            del sys.modules[name]
    sys.addaudithook(hook)


def _set_limits(limits: dict) -> None:
    import resource

    cpu = int(limits["cpu_seconds"])
    mem = int(limits["memory_mb"]) * 1024 * 1024
    for res, value in ((resource.RLIMIT_CPU, (cpu, cpu + 1)), (resource.RLIMIT_AS, (mem, mem)),
                       (resource.RLIMIT_CORE, (0, 0)),
                       (resource.RLIMIT_FSIZE, (limits["file_mb"] << 20,) * 2)):
        resource.setrlimit(res, value)
    # RLIMIT_NPROC counts every process of this user, so allow what already runs.
    uid = os.getuid()
    try:
        running = sum(1 for d in os.listdir("/proc") if d.isdigit() and _owner(d) == uid)
    except OSError:  # no /proc (macOS): leave the process limit to the wall clock
        return
    nproc = running + int(limits["max_processes"])
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))


def _owner(pid: str) -> int:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return -1


# --- running ---------------------------------------------------------------------


def _where(exc: BaseException) -> str:
    tb, line = exc.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<candidate>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return f" (line {line})" if line else ""


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:300]
    head = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return head + _where(exc)


def _probe(fn, probes: list, reply_fd: int, perf) -> bool:
    """Run the probe inputs, report their outputs, and ask the parent whether to go on.

    An exception on a probe is part of the behaviour being hashed, not a failure.
    """
    outputs, start = [], perf()
    for probe in probes:
        try:
            outputs.append(encode(fn(**decode(probe))))
        except BaseException as exc:  # noqa: BLE001
            outputs.append({"__error__": type(exc).__name__})
    line = json.dumps({"phase": "probe", "outputs": outputs, "seconds": perf() - start})
    os.write(reply_fd, line.encode() + b"\n")
    return sys.stdin.buffer.read(1) == b"c"


def _run(request: dict, reply_fd: int) -> dict | None:
    import time

    import numpy as np  # noqa: F401  (preloaded so candidates need not import it)

    perf = time.perf_counter
    cases = [decode(c) for c in request["cases"]]
    try:
        code = compile(request["source"], "<candidate>", "exec")
    except SyntaxError as exc:
        return {"status": "failed", "failure": "syntax_error",
                "error": f"SyntaxError: {exc.msg} (line {exc.lineno})"}
    candidate = types.ModuleType("candidate")
    try:
        exec(code, candidate.__dict__)  # noqa: S102 - the sandbox child, where it belongs
        namespace = _harness(request.get("harness"), candidate, request["source"])
    except MemoryError:
        return {"status": "failed", "failure": "memory", "error": "MemoryError at import"}
    except BaseException as exc:  # noqa: BLE001 - any candidate failure is data
        return _failure(exc)
    fn = namespace.get(request["entrypoint"])
    if not callable(fn):
        return {"status": "failed", "failure": "missing_entrypoint",
                "error": f"the program defines no function {request['entrypoint']}()"}
    if request.get("probes") and not _probe(fn, request["probes"], reply_fd, perf):
        return None
    outputs, seconds = [], []
    for case in cases:
        try:
            start = perf()
            out = fn(**case)
            seconds.append(perf() - start)
            outputs.append(encode(out))
        except MemoryError:
            return {"status": "failed", "failure": "memory", "error": "MemoryError"}
        except BadOutput as exc:
            return {"status": "failed", "failure": "invalid_output", "error": str(exc)}
        except BaseException as exc:  # noqa: BLE001
            return _failure(exc)
    return {"status": "ok", "outputs": outputs, "seconds": seconds}


def _harness(source: str | None, candidate, candidate_source: str) -> dict:
    """The namespace holding the entry point: the candidate's own, or a problem's
    harness (trusted source, run here) that calls the candidate's functions (or,
    like an OpenEvolve evaluator, loads its source from a file)."""
    if source is None:
        return candidate.__dict__
    harness = {"__name__": "harness", "candidate": candidate,
               "candidate_source": candidate_source}
    exec(compile(source, "<harness>", "exec"), harness)  # noqa: S102
    return harness


def _failure(exc: BaseException) -> dict:
    """Classify a candidate's exception; sandbox refusals get their own reason."""
    forbidden = isinstance(exc, (PermissionError, ImportError)) and str(exc).startswith("sandbox:")
    return {"status": "failed", "failure": "forbidden" if forbidden else "exception",
            "error": _one_line(exc)}


def main() -> None:
    request = json.loads(sys.stdin.buffer.readline())
    reply_fd = os.dup(1)
    scratch = request["scratch"]
    os.chdir(scratch)
    for fd, name in ((1, "stdout.txt"), (2, "stderr.txt")):
        out = os.open(os.path.join(scratch, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, fd)
        os.close(out)
    _set_limits(request["limits"])
    import importlib

    import numpy  # noqa: F401  (import before confinement: numpy needs ctypes)

    for name in request.get("preload", []):  # a harness's libraries, e.g. optuna
        importlib.import_module(name)

    if request.get("audit_hook", True):
        _confine(scratch, request.get("deny_read", []))
    reply = _run(request, reply_fd)
    if reply is not None:  # None: the parent stopped us after the probes
        with os.fdopen(reply_fd, "wb") as pipe:
            pipe.write(json.dumps(reply).encode())
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
