"""Which kernel boundary this machine can build, chosen once per process.

Modes: `bwrap` (bubblewrap builds the namespaces and the view), `jail`
(adrs's own builder, box/jail.py, entered by the child itself: unshare(2),
mount(2), pivot_root(2) through ctypes), `none` (no boundary: only limits and
seccomp; unsafe, for machines without namespaces, and only when asked for),
and `auto`, the default: bwrap if it works here, else jail, else refuse. The mode
comes from the run's configuration (`[sandbox] mode`, `--sandbox`, or ADRS_SANDBOX
read by adrs/config.py), always passed in, never read here.

Each mode is probed by actually building a sandbox and running `true` in it,
so a bwrap that is installed but not permitted, or a kernel without user
namespaces, is found here rather than at the first candidate.
"""

from __future__ import annotations

import functools
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass

from adrs.errors import UserError
from adrs.sandbox import cgroups, mounts, seccomp_filter

MODES = ("auto", "bwrap", "jail", "none")
CHILD = mounts.BOX / "child.py"


class SandboxUnavailable(UserError):
    """No kernel boundary can be built here and the user did not choose `none`."""


@dataclass(frozen=True)
class Layers:
    """The sandbox layers this machine builds for one mode."""

    mode: str  # bwrap | jail | none: what each evaluation runs under
    bwrap: str | None  # the bubblewrap binary, when mode is bwrap
    cgroups: cgroups.Hierarchies
    seccomp: bool

    @property
    def namespaces(self) -> bool:
        """Candidates run in namespaces of their own (every mode but none)."""
        return self.mode != "none"

    def describe(self) -> str:
        """One line for humans: namespaces, cgroups, seccomp."""
        ns = {"bwrap": "namespaces by bubblewrap", "jail": "namespaces by adrs (unshare)",
              "none": "NO namespaces (--sandbox none: unsafe)"}[self.mode]
        groups = ", ".join(self.cgroups.names()) or "none"
        return (f"{ns}; cgroups: {groups} (v{2 if self.cgroups.v2 else 1}); "
                f"seccomp: {'on' if self.seccomp else 'off (libseccomp missing)'}")


@functools.lru_cache(maxsize=8)
def layers(mode: str = "auto") -> Layers:
    """The layers for `mode`; raises SandboxUnavailable with the fix in one line."""
    chosen = mode
    if chosen not in MODES:
        raise UserError(f"unknown sandbox mode '{chosen}' ([sandbox] mode, --sandbox or "
                        f"ADRS_SANDBOX); use one of {', '.join(MODES)}")
    found = cgroups.hierarchies()
    seccomp = sys.platform == "linux" and seccomp_filter.program() is not None
    if chosen == "none":
        return Layers("none", None, found, seccomp)
    bwrap = _working_bwrap() if chosen in ("auto", "bwrap") else None
    if bwrap:
        return Layers("bwrap", bwrap, found, seccomp)
    if chosen == "bwrap":
        raise SandboxUnavailable("sandbox mode bwrap: bubblewrap is not installed or cannot "
                                 "create namespaces here; install it (apt install bubblewrap) "
                                 "or use --sandbox auto")
    if _jail_works():
        return Layers("jail", None, found, seccomp)
    why = "; ".join(f"{k}: {v}" for k, v in PROBLEMS.items())
    raise SandboxUnavailable("no kernel sandbox can be built on this machine (needs Linux with "
                             "namespaces: install bubblewrap, or allow user namespaces"
                             + (f"; {why}" if why else "") + "); "
                             "--sandbox none runs candidates unconfined (unsafe)")


PROBLEMS: dict[str, str] = {}  # mode -> why its probe failed, for the refusal message


def sweep() -> int:
    """Remove what killed adrs processes left behind (kill -9 gives them no time to
    clean up): their cgroups, and their scratch folders and share snapshots."""
    removed = cgroups.sweep()
    tmp = tempfile.gettempdir()
    for path in [p for kind in ("sandbox", "share")
                 for p in glob.glob(os.path.join(tmp, f"adrs-{kind}-*-*"))]:
        owner = os.path.basename(path).split("-")[2]
        if owner.isdigit() and not os.path.exists(f"/proc/{owner}"):
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed


def _probe(name: str, argv: list[str]) -> bool:
    try:
        done = subprocess.run(argv, capture_output=True, timeout=60, text=True,
                              env={"PATH": "/usr/bin:/bin"}, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        PROBLEMS[name] = str(exc)
        return False
    if done.returncode != 0:
        PROBLEMS[name] = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
    return done.returncode == 0


def _working_bwrap() -> str | None:
    binary = shutil.which("bwrap")
    if binary is None or sys.platform != "linux":
        return None
    argv = [binary, *bwrap_args(mounts.plan(16)), "--", sys.executable, "-I", "-c", ""]
    return binary if _probe("bwrap", argv) else None


def _jail_works() -> bool:
    if sys.platform != "linux":
        return False
    spec = {"jail": mounts.plan(16), "probe": True}
    return _probe("jail", [sys.executable, "-I", str(CHILD), json.dumps(spec)])


@functools.lru_cache(maxsize=64)
def bwrap_args(ops: tuple, keep_caps: bool = False) -> tuple[str, ...]:
    """bubblewrap's options for a mount plan, with every namespace unshared. As root it
    needs no user namespace (the child drops to nobody itself); otherwise it makes
    one, with no nested user namespaces and no capabilities, except for a warm
    template (`keep_caps`), which needs them in its own user namespace to build each
    candidate's namespaces (the candidate then drops them, box/lockdown.py)."""
    args = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session",
            "--hostname", "adrs-sandbox"]
    if os.getuid() != 0:
        args += ["--unshare-user", "--disable-userns", "--cap-add" if keep_caps else
                 "--cap-drop", "ALL"]
    made: set[str] = set()
    for op, *rest in ops:
        if op in ("bind", "symlink"):  # bubblewrap would make missing parents 0700
            args += _parents(rest[1], made)
        args += _bwrap_op(op, rest)
    return (*args, "--remount-ro", "/")


def _parents(dest: str, made: set[str]) -> list[str]:
    args, parts = [], dest.strip("/").split("/")[:-1]
    for i in range(1, len(parts) + 1):
        parent = "/" + "/".join(parts[:i])
        if parent not in made and parent not in ("/tmp", "/dev", "/proc"):
            made.add(parent)
            args += ["--perms", "0755", "--dir", parent]
    return args


def _bwrap_op(op: str, rest: list) -> list[str]:
    if op == "tmpfs":
        dest, size, mode = rest
        return ["--perms", f"{mode:o}", "--size", str(size), "--tmpfs", dest]
    if op == "bind":
        return ["--ro-bind", rest[0], rest[1]]
    if op == "symlink":
        return ["--symlink", rest[0], rest[1]]
    if op == "dev":
        return ["--dev", rest[0], "--perms", "1777", "--size", str(rest[1]),
                "--tmpfs", f"{rest[0]}/shm"]
    if op == "proc":
        return ["--proc", rest[0]]
    if op == "hide":
        if os.path.isdir(rest[0]):
            return ["--perms", "0", "--size", "4096", "--tmpfs", rest[0], "--remount-ro", rest[0]]
        return ["--ro-bind", "/dev/null", rest[0]]
    raise ValueError(f"unknown mount operation {op}")

