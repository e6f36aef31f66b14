"""Per-evaluation control groups: memory, process count and CPU accounting.

One group per sandboxed evaluation, made by the trusted parent before the
child starts and joined by the child's first process, so every descendant is
born in it (setsid or a double fork cannot leave it). The group caps memory
(including tmpfs, shared memory and memfd pages, which the kernel charges to
it; swap too where the kernel accounts it), caps the number of tasks, and
counts the CPU time of everything inside, which the parent reads per case as
the trusted runtime. cgroup v2 (one unified group) and v1 (one group per
controller hierarchy) are both handled; whatever cannot be created here is
reported by `adrs sandbox` and left to the rlimit fallbacks.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
_ids = itertools.count()


@dataclass(frozen=True)
class Hierarchies:
    """Where this process may create groups, per controller (None: not available)."""

    memory: Path | None
    pids: Path | None
    cpu: Path | None  # CPU accounting
    v2: bool
    throttle: Path | None = None  # a CPU quota (v1: the cpu controller; v2: cpu.max)

    def names(self) -> list[str]:
        """The controllers found: memory, pids, cpu."""
        return [n for n in ("memory", "pids", "cpu") if getattr(self, n) is not None]


@functools.lru_cache(maxsize=1)
def hierarchies() -> Hierarchies:
    """The cgroup hierarchies adrs may make groups in (v2 preferred), probed once."""
    v2 = _v2_parent()
    if v2 is not None:
        have = set(_read(v2 / "cgroup.subtree_control").split())
        pick = {c: v2 if c in have else None for c in ("memory", "pids", "cpu")}
        if any(pick.values()):
            return Hierarchies(pick["memory"], pick["pids"], pick["cpu"], True, pick["cpu"])
    return Hierarchies(_v1("memory", "memory.limit_in_bytes"), _v1("pids", "pids.max"),
                       _v1("cpuacct", "cpuacct.usage"), False, _v1("cpu", "cpu.cfs_quota_us"))


def _own(controller: str) -> str:
    """This process's group in a v1 hierarchy ('' for v2), from /proc/self/cgroup."""
    for line in _read(Path("/proc/self/cgroup")).splitlines():
        _, names, path = line.split(":", 2)
        if controller in names.split(","):
            return path.lstrip("/")
    return ""


def _v1(controller: str, probe_file: str) -> Path | None:
    for base in (ROOT / controller, ROOT / "cpu,cpuacct" if controller == "cpuacct" else None):
        if base is None or not base.is_dir():
            continue
        for parent in (base / _own(controller), base):
            if _can_create(parent, probe_file):
                return parent
    return None


def _v2_parent() -> Path | None:
    """A v2 group under which we may create children with controllers enabled:
    the unified root (as root) or a delegated group of ours."""
    for mount in (ROOT, ROOT / "unified"):
        if not (mount / "cgroup.controllers").is_file():
            continue
        own = mount / _own("")
        for parent in (own, mount):
            want = set(_read(parent / "cgroup.controllers").split()) & {"memory", "pids", "cpu"}
            with contextlib.suppress(OSError):
                (parent / "cgroup.subtree_control").write_text(
                    " ".join(f"+{c}" for c in sorted(want)))
            if want & set(_read(parent / "cgroup.subtree_control").split()) and \
                    _can_create(parent, "cgroup.procs"):
                return parent
    return None


def _can_create(parent: Path, probe_file: str) -> bool:
    probe = parent / f"adrs-probe-{os.getpid()}"
    try:
        probe.mkdir()
    except OSError:
        return False
    usable = (probe / probe_file).exists()
    with contextlib.suppress(OSError):
        probe.rmdir()
    return usable


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


class Group:
    """The groups of one evaluation, one per hierarchy (one in all under v2)."""

    def __init__(self, memory_mb: int, max_tasks: int, cpu_share: float = 0.0,
                 throttleable: bool = False):
        """`throttleable`: in the CPU-quota hierarchy even without a quota now, so that
        `limit` can set one later (a group made ahead of its evaluation)."""
        found = hierarchies()
        name = f"adrs-{os.getpid()}-{next(_ids)}"
        self.paths: dict[str, Path] = {}
        self._usage_fd: int | None = None
        self._ooms_before = 0
        self._limits: tuple | None = None  # as last written
        throttle = (cpu_share > 0 or throttleable) and found.throttle
        for controller in found.names() + (["throttle"] if throttle else []):
            path = getattr(found, controller) / name
            with contextlib.suppress(FileExistsError):
                path.mkdir()
            self.paths[controller] = path
        self.v2 = found.v2
        self.limit(memory_mb, max_tasks, cpu_share)

    def limit(self, memory_mb: int, max_tasks: int, cpu_share: float = 0.0) -> None:
        """Set the group's memory, task and CPU caps (nothing written if unchanged)."""
        if self._limits == (memory_mb, max_tasks, cpu_share):
            return  # a reused group: nothing to write
        self._limits = (memory_mb, max_tasks, cpu_share)
        self._limit(memory_mb, max_tasks)
        if "throttle" in self.paths:
            self._throttle(cpu_share)
        elif cpu_share > 0 and hierarchies().throttle:
            raise OSError("this group was made without a CPU quota")

    def _throttle(self, cpu_share: float) -> None:
        """At most `cpu_share` CPUs for everything in the group (CFS bandwidth control);
        no cap for 0."""
        period = 100_000
        quota = max(1000, int(cpu_share * period)) if cpu_share > 0 else None
        path = self.paths["throttle"]
        if self.v2:
            (path / "cpu.max").write_text(f"{quota or 'max'} {period}")
        else:
            (path / "cpu.cfs_period_us").write_text(str(period))
            (path / "cpu.cfs_quota_us").write_text(str(quota or -1))

    def _limit(self, memory_mb: int, max_tasks: int) -> None:
        mem, pids = self.paths.get("memory"), self.paths.get("pids")
        if pids is not None:
            (pids / "pids.max").write_text(str(max_tasks))
        if mem is None:
            return
        cap = str(memory_mb << 20)
        if self.v2:
            (mem / "memory.max").write_text(cap)
            with contextlib.suppress(OSError):
                (mem / "memory.swap.max").write_text("0")
        else:  # memory+swap may never be below memory: raise it first, lower it last
            for name in ("memory.memsw.limit_in_bytes", "memory.limit_in_bytes",
                         "memory.memsw.limit_in_bytes"):
                try:
                    (mem / name).write_text(cap)
                except OSError:  # memsw: only where swap accounting is on, and in order
                    if name == "memory.limit_in_bytes":
                        raise

    @property
    def caps_memory(self) -> bool:
        """The group caps memory (a memory controller was found)."""
        return "memory" in self.paths

    @property
    def caps_tasks(self) -> bool:
        """The group caps processes and threads (a pids controller was found)."""
        return "pids" in self.paths

    def procs_files(self) -> list[str]:
        """What the child's first process writes its pid into (each distinct group)."""
        return sorted({str(p / "cgroup.procs") for p in self.paths.values()})

    def cpu_seconds(self) -> float | None:
        """CPU time of everything that ever ran in the group (kernel accounting). Read
        twice per case, so from a descriptor kept open."""
        text = self._usage()
        if text is None:
            return None
        if self.v2:
            for line in text.splitlines():
                if line.startswith("usage_usec"):
                    return int(line.split()[1]) / 1e6
            return None
        return int(text) / 1e9 if text.strip() else None

    def _usage(self) -> str | None:
        cpu = self.paths.get("cpu")
        if cpu is None:
            return None
        if self._usage_fd is None:
            try:
                self._usage_fd = os.open(cpu / ("cpu.stat" if self.v2 else "cpuacct.usage"),
                                         os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                return ""
        try:
            return os.pread(self._usage_fd, 4096, 0).decode()
        except OSError:
            return ""

    def oom_killed(self) -> bool:
        """Whether the kernel killed for memory since `begin` (a group can be reused)."""
        return self._ooms() > self._ooms_before

    def begin(self) -> None:
        """A new evaluation in this group (empty now): its counters start here."""
        self._ooms_before = self._ooms()

    def _ooms(self) -> int:
        mem = self.paths.get("memory")
        if mem is None:
            return 0
        text = _read(mem / ("memory.events" if self.v2 else "memory.oom_control"))
        counts = dict(line.split()[:2] for line in text.splitlines() if len(line.split()) >= 2)
        if "oom_kill" in counts:
            return int(counts["oom_kill"])
        return 0 if self.v2 else int(_read(mem / "memory.failcnt").strip() or 0)

    def release(self) -> None:
        """Kill every task left in the groups, then remove them."""
        if self._usage_fd is not None:
            os.close(self._usage_fd)
            self._usage_fd = None
        for path in self.paths.values():
            _remove(path, self.v2)


def _remove(path: Path, v2: bool) -> None:
    """Kill what is in the group and remove it; a process that joined after the kill
    (a warm spare still joining as its template dies) is killed on the next try."""
    for _ in range(10):
        kill_all(path, v2)
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:  # busy: someone joined meanwhile
            time.sleep(0.01)


def kill_all(path: Path, v2: bool) -> None:
    """Kill every process in the cgroup at `path` and wait until it is empty."""
    if v2:
        with contextlib.suppress(OSError):
            (path / "cgroup.kill").write_text("1")
    for _ in range(200):
        pids = _read(path / "cgroup.procs").split()
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        time.sleep(0.005)


def sweep() -> int:
    """Remove groups that dead adrs processes left behind (kill -9 of a controller)."""
    found, removed = hierarchies(), 0
    for parent in {getattr(found, c) for c in found.names()} | {found.throttle} - {None}:
        for group in parent.glob("adrs-*-*"):
            owner = group.name.split("-")[1]
            if owner.isdigit() and not Path(f"/proc/{owner}").exists():
                kill_all(group, found.v2)
                with contextlib.suppress(OSError):
                    group.rmdir()
                    removed += 1
    return removed
