"""`adrs sandbox`: which layers work on this machine, each proven by a candidate that
tries to get past it. A layer is "ok" only when the attempt fails."""

from __future__ import annotations

import os
import socket
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import replace

from adrs.config import Limits
from adrs.sandbox import confine, warm
from adrs.sandbox.runner import Outcome, encode_cases, run_candidate

LIMITS = Limits(wall_seconds=20.0, cpu_seconds=10, memory_mb=256, max_processes=16, disk_mb=32)
CASE = encode_cases([{}])

STATUS = "def f():\n    return open('/proc/self/status').read()\n"
PROCESSES = ("import os\ndef f():\n    return [p for p in os.listdir('/proc') if p.isdigit()]\n")
WRITE = "def f():\n    open({path!r}, 'w').write('x')\n    return 'wrote'\n"
READ = "def f():\n    return open({path!r}).read()\n"
CONNECT = ("import socket\ndef f():\n    socket.create_connection(('127.0.0.1', {port}), "
           "timeout=2)\n    return 'connected'\n")
NAMESPACE = ("import ctypes\ndef f():\n    libc = ctypes.CDLL(None, use_errno=True)\n"
             "    return libc.unshare(0x10000000) == 0\n")
MEMORY = "def f():\n    return len(bytearray(512 << 20))\n"
DISK = ("def f():\n    with open('/tmp/fill', 'wb') as fh:\n        for _ in range(64):\n"
        "            fh.write(bytes(1 << 20))\n    return 'filled'\n")
FORKS = "import os\ndef f():\n    while True:\n        os.fork()\n"


def _run(source: str, limits: Limits) -> Outcome:
    return run_candidate(source, "f", CASE, limits)


def _capabilities(limits: Limits) -> tuple[bool, str]:
    out = _run(STATUS, limits)
    if not out.ok:
        return False, f"could not read its status ({out.failure}: {out.error})"
    fields = dict(line.split(":", 1) for line in out.outputs[0].splitlines() if ":" in line)
    caps, uid = int(fields["CapEff"].strip(), 16), fields["Uid"].split()[0]
    seccomp = fields.get("Seccomp", "0").strip()
    return caps == 0, f"uid {uid}, effective capabilities {caps:#x}, seccomp mode {seccomp}"


def _processes(limits: Limits) -> tuple[bool, str]:
    out = _run(PROCESSES, limits)
    n = len(out.outputs[0]) if out.ok else None
    return out.ok and n <= 4, f"sees {n} processes" if out.ok else out.error


def _secret_file(limits: Limits) -> tuple[bool, str]:
    with tempfile.NamedTemporaryFile("w", dir="/var/tmp" if os.path.isdir("/var/tmp") else None,
                                     prefix="adrs-selftest-") as fh:
        fh.write("secret")
        fh.flush()
        out = _run(READ.format(path=fh.name), limits)
    return not out.ok, "a file of the host is invisible" if not out.ok else "READ a host file"


def _write_outside(limits: Limits) -> tuple[bool, str]:
    target = os.path.join(os.path.dirname(os.path.abspath(__file__)), "selftest-was-here")
    out = _run(WRITE.format(path=target), limits)
    wrote = os.path.exists(target)
    if wrote:
        os.unlink(target)
    return not wrote and not out.ok, "adrs's own folder is read-only" if not wrote else "WROTE"


def _network(limits: Limits) -> tuple[bool, str]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        out = _run(CONNECT.format(port=server.getsockname()[1]), limits)
    return not out.ok, "the host's loopback is unreachable" if not out.ok else "CONNECTED"


def _seccomp(limits: Limits) -> tuple[bool, str]:
    out = _run(NAMESPACE, limits)
    refused = out.ok and out.outputs[0] is False
    return refused, "new namespaces refused" if refused else f"unshare allowed ({out})"


def _memory(limits: Limits) -> tuple[bool, str]:
    out = _run(MEMORY, limits)
    return out.failure == "memory", f"512 MB at a 256 MB cap: {out.failure or 'allowed'}"


def _disk(limits: Limits) -> tuple[bool, str]:
    out = _run(DISK, limits)
    return not out.ok, f"64 MB into a 32 MB scratch: {out.failure or 'allowed'}"


def _tasks(limits: Limits) -> tuple[bool, str]:
    out = _run(FORKS, replace(limits, wall_seconds=5.0))
    return not out.ok, f"fork bomb: {out.failure}"


CHECKS: list[tuple[str, Callable[[Limits], tuple[bool, str]]]] = [
    ("no capabilities", _capabilities), ("PID namespace", _processes),
    ("filesystem view", _secret_file), ("read-only binds", _write_outside),
    ("network namespace", _network), ("seccomp", _seccomp), ("memory cap", _memory),
    ("scratch disk cap", _disk), ("process cap", _tasks),
]


def self_test(say: Callable[[str], None], settings: Limits | None = None) -> int:
    """Print the layers, then each check; 0 when every one holds. `settings` (the
    configuration's [sandbox]) gives the mode and whether templates are warm."""
    settings = settings or Limits()
    limits = replace(LIMITS, mode=settings.mode, warm=settings.warm)
    try:
        layers = confine.layers(limits.mode)
    except confine.SandboxUnavailable as exc:
        say(f"sandbox: unavailable: {exc}")
        return 1
    say(f"sandbox: {layers.describe()}")
    failed = 0
    for name, check in CHECKS:
        try:
            ok, detail = check(limits)
        except Exception as exc:  # noqa: BLE001 - a broken check is a failed check
            ok, detail = False, f"{type(exc).__name__}: {exc}"
        failed += not ok
        say(f"  {'ok  ' if ok else 'FAIL'} {name:18} {detail}")
    say(f"{len(CHECKS) - failed} of {len(CHECKS)} layers hold"
        + ("" if layers.namespaces else " (mode none: no boundary, as asked)"))
    say(_warmth(limits))
    return 1 if failed else 0


def _warmth(limits: Limits) -> str:
    """Whether candidates are forked from warm templates here, and what one costs."""
    runs = [_run("def f():\n    return 1\n", limits) for _ in range(5)]
    ms = statistics.median(o.wall_seconds for o in runs) * 1000
    if all(o.ok and o.warm for o in runs):
        return (f"warm templates: on (each candidate a fork of a template with numpy "
                f"loaded: {ms:.0f} ms for a near-free one)")
    why = "; ".join(warm.POOL.cold.values()) or (
        "mode none" if not confine.layers(limits.mode).namespaces
        else "turned off: [sandbox] warm = false or ADRS_WARM=0")
    return f"warm templates: off ({why}); a fresh interpreter per evaluation: {ms:.0f} ms"
