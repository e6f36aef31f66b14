"""What a candidate sees: the filesystem inside the sandbox, as an ordered plan.

Not `/`: only what Python needs (its prefixes and the directories on its
isolated sys.path), the system's read-only /usr and the few /etc files that
programs and compilers read, the problem's own folder, and adrs's box/ folder,
all read-only; a fresh /proc of its own PID namespace, a minimal /dev, and a
size-capped tmpfs at /tmp that is its scratch, home and working directory. The
archive and the user's credential stores are covered wherever they fall
inside a bound folder. Both namespace builders (bubblewrap and box/jail.py)
carry out the same plan, so the view does not depend on which one runs.

Operations, in order: ("tmpfs", dest, bytes, mode), ("bind", src, dest),
("symlink", target, dest), ("dev", dest, shm_bytes), ("proc", dest),
("hide", dest).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BOX = Path(__file__).resolve().parent / "box"
SCRATCH = "/tmp"
ROOT_DIRS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "alternatives", "passwd",
       "group", "nsswitch.conf", "hosts", "os-release", "mime.types")
# read-only system facts numeric libraries size their thread pools from
SYS = ("/sys/devices/system/cpu",)

# Where the controller's user keeps credentials: covered if a bound folder holds them.
CREDENTIALS = (".ray", ".ssh", ".aws", ".azure", ".config/gcloud", ".kube", ".docker",
               ".gnupg", ".netrc", ".pgpass", ".git-credentials", ".pypirc",
               ".cache/huggingface", ".config/openai")


def credential_paths() -> tuple[str, ...]:
    """Those that exist now. Looked for again only when a folder they live in has
    changed (its mtime): every evaluation asks, and each look is a syscall."""
    from adrs.judging import key_path

    home = os.path.expanduser("~")
    found = tuple(os.path.join(home, c) for c in CREDENTIALS) + (str(key_path().parent),)
    parents = sorted({os.path.dirname(p) for p in found})
    return _existing(found, tuple(_mtime(p) for p in parents))


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1


@functools.lru_cache(maxsize=4)
def _existing(paths: tuple[str, ...], _parents_changed: tuple[int, ...]) -> tuple[str, ...]:
    return tuple(p for p in paths if os.path.exists(p))


@functools.lru_cache(maxsize=1)
def python_dirs() -> tuple[str, ...]:
    """The interpreter's prefixes and its isolated-mode import path, resolved."""
    try:
        out = subprocess.run([sys.executable, "-I", "-c", "import json, sys; print(json.dumps("
                              "[sys.prefix, sys.base_prefix, sys.exec_prefix, *sys.path]))"],
                             capture_output=True, text=True, timeout=60, check=True).stdout
        found = json.loads(out)
    except (OSError, subprocess.SubprocessError, ValueError):
        found = [sys.prefix, sys.base_prefix, sys.exec_prefix]
    found.append(os.path.dirname(os.path.realpath(sys.executable)))
    return _outermost(os.path.realpath(p) for p in found if p and os.path.isdir(p))


def _outermost(paths) -> tuple[str, ...]:
    unique = sorted(set(paths))
    return tuple(p for p in unique if not _under(p, [q for q in unique if q != p]))


@functools.lru_cache(maxsize=64)
def plan(disk_mb: int, share: tuple[str, ...] = (), hide: tuple[str, ...] = ()) -> tuple:
    """The ordered mount plan for one evaluation (the same for every evaluation of a
    run, so made once)."""
    size = disk_mb << 20
    ops: list = [("tmpfs", SCRATCH, size, 0o1777)]  # first: binds under /tmp go on top
    ops += [("bind", "/usr", "/usr")] if os.path.isdir("/usr") else []
    for name in ROOT_DIRS:
        path = f"/{name}"
        if os.path.islink(path):
            ops.append(("symlink", os.readlink(path), path))
        elif os.path.isdir(path):
            ops.append(("bind", path, path))
    ops += [("bind", os.path.realpath(f"/etc/{n}"), f"/etc/{n}") for n in ETC
            if os.path.exists(f"/etc/{n}")]
    ops += [("bind", p, p) for p in SYS if os.path.isdir(p)]
    shared = dict(_shared(share))
    bound = _outermost([*python_dirs(), *shared, str(BOX)])
    hidden = tuple(os.path.realpath(p) for p in hide if os.path.exists(p))
    ops += [("bind", _source(shared[p], hidden) if p in shared else p, p) for p in bound
            if not _under(p, ("/usr",))]
    ops += [("dev", "/dev", size), ("proc", "/proc")]
    ops += [("hide", p) for p in hidden if _under(p, bound)]
    return tuple(ops)


def _shared(share):
    """(where the sandbox sees it, what is bound there) for each folder of `share`: a path
    is bound where it is; a (path, copy) pair binds the copy at the path (a problem
    folder unpacked on a node that has no copy of its own)."""
    for entry in share:
        dest, src = (entry, entry) if isinstance(entry, str) else entry
        if os.path.isdir(src):
            yield os.path.realpath(dest), os.path.realpath(src)


def under_scratch(ops: tuple) -> tuple[str, ...]:
    """The outermost folders a plan binds under the scratch /tmp: a candidate's fresh
    scratch (box/template.py) must bind them again on top."""
    return _outermost(op[2] for op in ops if op[0] == "bind" and _under(op[2], (SCRATCH,)))


def _source(folder: str, hidden: tuple[str, ...]) -> str:
    """What to bind for a shared folder: itself, or, where the candidate (nobody, when
    adrs runs as root) could not read all of it, a readable snapshot."""
    if os.getuid() != 0 or _world_readable(folder):
        return folder
    return _snapshot(folder, hidden)


def _world_readable(folder: str) -> bool:
    for root, _dirs, files in os.walk(folder):
        if os.stat(root).st_mode & 0o005 != 0o005:
            return False
        for name in files:
            with contextlib.suppress(OSError):
                if os.stat(os.path.join(root, name)).st_mode & 0o004 == 0:
                    return False
    return True


@functools.lru_cache(maxsize=32)
def _snapshot(folder: str, hidden: tuple[str, ...]) -> str:
    """A copy readable by all, inside a folder only root can enter (the sandbox binds
    it at the original path; parents do not count there). Made once per process."""
    parent = tempfile.mkdtemp(prefix=f"adrs-share-{os.getpid()}-")
    atexit.register(shutil.rmtree, parent, True)
    copy = os.path.join(parent, "folder")
    skip = {h for h in hidden if _under(h, (folder,))}
    shutil.copytree(folder, copy, symlinks=True, ignore=lambda d, names: [
        n for n in names if os.path.join(d, n) in skip])
    for path in skip:  # left empty in the copy, and covered like the original
        stand_in = copy + path[len(folder):]
        if os.path.isdir(path):
            os.makedirs(stand_in, exist_ok=True)
        else:
            open(stand_in, "w").close()
    for root, _dirs, files in os.walk(copy):
        os.chmod(root, 0o755)
        for name in files:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                os.chmod(path, os.stat(path).st_mode | 0o444)
    return copy


def _under(path: str, roots) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)
