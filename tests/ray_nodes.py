"""A real Ray cluster on this machine, one `ray start` per node (tests, benchmarks).

The head runs the controller only (no CPUs for tasks); each other node is a
raylet of its own, started with `ray start --address`. A node may be started in
a mount namespace of its own in which some folders are covered by an empty
tmpfs: on that node those paths do not exist, as on a machine that has no copy
of them. `kill(node)` is a node lost for good: SIGKILL to its raylet and every
process under it, as when its machine dies.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

# a node that stopped answering is declared dead within about 2 s (defaults: 15 s)
FAST_HEALTH = {"health_check_period_ms": 500, "health_check_failure_threshold": 4,
               "health_check_initial_delay_ms": 0}
# loopback only: no auth token (a driver reads RAY_AUTH_MODE once, when ray is imported)
ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}


def ray_cli() -> str:
    return shutil.which("ray", path=os.path.dirname(sys.executable)) or "ray"


class LocalCluster:
    """A head and `add_node`s, each its own `ray start` process tree."""

    def __init__(self, logs: Path):
        self.logs, self.nodes = Path(logs), []
        self.logs.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, **ENV}
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.head = self._start(["--head", "--port", str(self.port), "--num-cpus", "0",
                                 "--include-dashboard", "false",
                                 "--system-config", json.dumps(FAST_HEALTH)], "head", ())

    def add_node(self, cpus: int = 1, hide: tuple[str, ...] = ()) -> subprocess.Popen:
        """A node with `cpus` CPUs on which the folders `hide` do not exist. Nodes start
        one at a time (raylets starting together on a loaded machine can time out), and
        a start that timed out is tried once more."""
        name = f"node{len(self.nodes) + 1}"
        for _attempt in range(2):
            node = self._start(["--address", self.address, "--num-cpus", str(cpus)],
                               name, hide)
            if _started(node, self.logs / f"{name}.log"):
                self.nodes.append(node)
                return node
            self.kill(node)
        raise RuntimeError(f"ray start --address failed twice: "
                           f"{(self.logs / f'{name}.log').read_text()[-2000:]}")

    def wait_for(self, ray, cpus: int, timeout: float = 120.0) -> None:
        """Until the cluster (as `ray`, connected, sees it) has `cpus` CPUs alive."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            alive = sum(n["Resources"].get("CPU", 0) for n in ray.nodes() if n["Alive"])
            if alive >= cpus:
                return
            time.sleep(0.2)
        raise TimeoutError(f"the cluster did not reach {cpus} CPUs in {timeout:g} s")

    def kill(self, node: subprocess.Popen) -> list[int]:
        """SIGKILL the node's whole process tree; returns the pids killed."""
        tree = descendants(node.pid) + [node.pid]
        for pid in tree:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        node.wait()
        return tree

    def shutdown(self) -> None:
        for proc in [*self.nodes, self.head]:
            if proc.poll() is None:
                self.kill(proc)

    def _start(self, args: list[str], name: str, hide: tuple[str, ...]) -> subprocess.Popen:
        command = [ray_cli(), "start", *args, "--disable-usage-stats", "--block"]
        if hide:  # a mount namespace of its own, the folders covered by empty tmpfs
            covers = " && ".join(f"mount -t tmpfs -o size=1m none '{p}'" for p in hide)
            user = [] if os.geteuid() == 0 else ["--user", "--map-current-user"]
            command = ["unshare", *user, "--mount", "--propagation", "private", "sh", "-c",
                       f"{covers} && exec \"$0\" \"$@\"", *command]
        log = open(self.logs / f"{name}.log", "w")  # noqa: SIM115 - the node's life long
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                start_new_session=True)
        if name == "head":
            _wait_for_port(self.port, proc, self.logs / "head.log")
        return proc


def _started(proc, log: Path, timeout: float = 120.0) -> bool:
    """Whether `ray start --block` said its node runs (False: it exited or hung)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "Ray runtime started" in log.read_text():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.2)
    return False


def _wait_for_port(port: int, proc, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ray start --head failed: {log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            time.sleep(1.0)  # the GCS listens before it serves
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"the Ray head did not listen on {port} in {timeout:g} s")


def descendants(pid: int) -> list[int]:
    """Every process under `pid`, from /proc (children of children included)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def waiting_candidates(pid: int) -> list[int]:
    """Sandboxed processes under `pid` asleep in a timed wait right now: an evaluation of
    the waiting problem in progress (a spare or an idle template waits on a pipe)."""
    found = []
    for p in descendants(pid):
        if "sandbox/box/child.py" not in cmdline(p):
            continue
        try:
            if "nanosleep" in Path(f"/proc/{p}/wchan").read_text():
                found.append(p)
        except OSError:
            continue
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
