"""A problem folder's files as a run first saw them: a digest, a package, a change check.

Evaluations on other machines (Ray nodes) get the folder as a package the
controller made once, so a node needs no copy of its own, and every node
evaluates against the same bytes. Files the sandbox hides (the run's archive,
`deny_read`) and Python's byte-code caches are left out of both. The initial
program is packed but not fingerprinted: it is where a search starts, not how it
is judged, and fixing one that failed before `adrs resume` is the way to go on.

A folder whose files change during a run would have its candidates judged
against two different problems, so `check()` (called before each evaluation,
at most every CHECK_EVERY s) refuses to go on, naming the file.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import shutil
import tarfile
import tempfile
import threading
import time
from pathlib import Path

from adrs.errors import UserError

CHECK_EVERY = 0.25  # seconds between two looks at the folder's file sizes and times
HASHED_MB = 16  # larger files count by size and modification time, not by their bytes
MAX_PACKAGE_MB = 256


class ProblemChanged(UserError):
    """The problem folder's files differ from those the run started with."""


class ProblemFiles:
    """The files under `root` (less `hidden`), fingerprinted when first seen, all but
    `unjudged` (files whose edits do not change how candidates are judged)."""

    def __init__(self, root: str, hidden: tuple[str, ...] = (), unjudged: tuple[str, ...] = ()):
        self.root, self.hidden = os.path.realpath(root), tuple(map(os.path.realpath, hidden))
        self.unjudged = {os.path.relpath(os.path.realpath(p), self.root) for p in unjudged}
        self._all = self._walk()
        self._stats = self._judged(self._all)
        self.digest = self._hash(self._stats)
        self._looked, self._lock = time.monotonic(), threading.Lock()

    def check(self) -> None:
        """Raise ProblemChanged if a file was added, removed or edited since the start."""
        now = time.monotonic()
        with self._lock:
            if now - self._looked < CHECK_EVERY:
                return
            self._looked = now
            stats = self._judged(self._walk())
            if stats == self._stats:
                return
            if self._hash(stats) == self.digest:  # touched, same bytes
                self._stats = stats
                return
        changed = sorted(set(stats.items()) ^ set(self._stats.items()))[0][0]
        raise ProblemChanged(
            f"the problem folder {self.root} changed during the run ({changed}); adrs will "
            "not judge candidates against different files: put it back as it was and "
            "`adrs resume`, or start a new run")

    @functools.cached_property
    def package(self) -> bytes:
        """The files as a gzipped tar, for nodes that have no copy of the folder."""
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            for rel in sorted(self._all):
                tar.add(os.path.join(self.root, rel), arcname=rel, recursive=False)
        if buf.tell() > MAX_PACKAGE_MB << 20:
            raise UserError(f"the problem folder {self.root} is over {MAX_PACKAGE_MB} MB "
                            "packed; move large data out of it (or onto every node's disk)")
        return buf.getvalue()

    def _walk(self) -> dict[str, tuple[int, int, int]]:
        """relative path -> (mode, size, mtime) of every file and folder kept."""
        found = {}
        for here, dirs, files in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__"
                             and not self._hidden(os.path.join(here, d)))
            for name in [*dirs, *files]:
                path = os.path.join(here, name)
                if name.endswith(".pyc") or self._hidden(path) or os.path.islink(path):
                    continue
                st = os.stat(path)
                found[os.path.relpath(path, self.root)] = (st.st_mode, st.st_size,
                                                           st.st_mtime_ns)
        return found

    def _judged(self, stats: dict) -> dict:
        return {rel: st for rel, st in stats.items() if rel not in self.unjudged}

    def _hidden(self, path: str) -> bool:
        return any(path == h or path.startswith(h + "/") for h in self.hidden)

    def _hash(self, stats: dict) -> str:
        h = hashlib.sha256()
        for rel in sorted(stats):
            mode, size, mtime = stats[rel]
            h.update(f"{rel}\0{mode & 0o111 != 0}\0".encode())
            if os.path.isdir(os.path.join(self.root, rel)):
                continue
            if size > HASHED_MB << 20:  # reading gigabytes at every start costs too much
                h.update(f"{size}:{mtime}".encode())
            else:
                h.update(Path(self.root, rel).read_bytes())
        return h.hexdigest()


@functools.lru_cache(maxsize=16)
def files_of(root: str, hidden: tuple[str, ...] = (),
             unjudged: tuple[str, ...] = ()) -> ProblemFiles:
    """The fingerprint of a folder, taken the first time this process asks for it."""
    return ProblemFiles(root, hidden, unjudged)


def problem_files(problem, hidden: tuple[str, ...], fresh: bool = False) -> ProblemFiles:
    """A problem's folder as a run sees it (its initial program not judged); `fresh`:
    looked at now, not as this process first saw it."""
    initial = (str(problem.initial_path),) if problem.initial_path else ()
    made = ProblemFiles if fresh else files_of
    return made(str(problem.root), tuple(hidden), initial)


def unpacked(digest: str, package: bytes, cache: str | None = None) -> str:
    """Where this machine keeps the package `digest` unpacked (done once, atomically)."""
    cache = cache or os.path.join(tempfile.gettempdir(), f"adrs-problems-{os.getuid()}")
    target = os.path.join(cache, digest)
    if os.path.isdir(target):
        return target
    os.makedirs(cache, mode=0o755, exist_ok=True)
    work = tempfile.mkdtemp(prefix=f".{digest[:12]}-", dir=cache)
    with tarfile.open(fileobj=io.BytesIO(package), mode="r:gz") as tar:
        tar.extractall(work, filter="data")  # no absolute paths, links out or devices
    os.chmod(work, 0o755)
    try:
        os.rename(work, target)
    except OSError:  # another process of this machine unpacked it first
        shutil.rmtree(work, ignore_errors=True)
    return target
