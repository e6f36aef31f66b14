"""How a sandboxed child is started: its command line, environment, spec and limits.

A cold child is bubblewrap (or the jail, or nothing) around box/child.py with
its spec as the last argument; a warm template is started the same way once,
and each job it forks gets only the per-candidate part (limits, working folder).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import sys

from adrs.sandbox import confine, mounts, seccomp_filter, warm
from adrs.sandbox.box.lockdown import NOBODY

CHILD = mounts.BOX / "child.py"
SAFE_ENV = {
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
ADDRESS_SPACE_FACTOR = 4  # address space allowed per MB of memory, where a cgroup caps it


class Launch:
    """The start of one sandboxed child: `kind` is (mode, mount plan, preload), the
    key warm templates are pooled by; `scratch` its folder where no namespace hides
    one; `group` its cgroup, when it has one."""

    def __init__(self, layers: confine.Layers, limits, kind: tuple, scratch: str | None):
        self.layers, self.limits, self.kind, self.scratch = layers, limits, kind, scratch
        self.group = None

    def env(self) -> dict:
        """The child's whole environment: a safe fixed set, its home and caches in scratch."""
        home = self.scratch or mounts.SCRATCH
        return {**SAFE_ENV, "HOME": home, "TMPDIR": home, "MPLCONFIGDIR": home,
                "XDG_CACHE_HOME": os.path.join(home, ".cache")}

    def argv(self, req_r: int, rep_w: int, joins: list[int]) -> list[str]:
        """A cold child's whole command line."""
        spec = {"requests": req_r, "replies": rep_w, "cgroups": joins,
                "limits": self.child_limits(), "seccomp": self._seccomp(),
                "drop_root": self.layers.namespaces, "cwd": self.cwd()}
        ops = self.kind[1]
        if self.layers.mode == "jail":
            spec["jail"] = list(ops)  # the child builds its namespaces itself, first thing
        return [*self._command(ops), json.dumps(spec)]

    def template(self) -> warm.TemplateProcess:
        """A new warm template for this kind of child."""
        ops = self.kind[1]
        conf = {"preload": list(self.kind[2]), "scratch_bytes": self.limits.disk_mb << 20,
                "drop_root": self.layers.namespaces,
                "under_tmp": list(mounts.under_scratch(ops)), "seccomp": self._seccomp()}
        spec = {"template": conf, "jail": list(ops) if self.layers.mode == "jail" else None}
        return warm.TemplateProcess(self._command(ops, template=True), self.env(), spec)

    def job(self) -> dict:
        """What a template's fork is told of its own candidate."""
        return {"limits": self.child_limits(), "cwd": self.cwd()}

    def cwd(self) -> str:
        """The child's working directory: its scratch."""
        return self.scratch or mounts.SCRATCH

    def child_limits(self) -> dict:
        """The rlimits the child sets on itself before it reads the candidate."""
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

    def _child_uid(self) -> int:
        uid = os.getuid()
        return NOBODY if uid == 0 and self.layers.namespaces else uid

    def _command(self, ops: tuple, template: bool = False) -> list[str]:
        """The child's command line but its spec: bubblewrap's, or the plain child."""
        child = [sys.executable, "-I", str(CHILD)]
        if self.layers.mode != "bwrap":
            return child
        env = [a for k, v in self.env().items() for a in ("--setenv", k, v)]
        return [self.layers.bwrap, *confine.bwrap_args(ops, keep_caps=template), "--clearenv",
                *env, "--chdir", mounts.SCRATCH, "--", *child]


def _running_as(uid: int) -> int:
    """Processes of `uid` now (RLIMIT_NPROC counts them all); 0 where /proc is absent."""
    count = 0
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            with contextlib.suppress(OSError):
                count += entry.isdigit() and os.stat(f"/proc/{entry}").st_uid == uid
    return count
