"""Shared helpers for the sandbox tests: run a candidate under one backend, and find
anything a sandbox left behind."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from adrs import cgroups, confine
from adrs.box.lockdown import NOBODY
from adrs.sandbox import Limits, encode_cases, run_candidate

CASES = encode_cases([{"x": 1.0}])


def backends() -> list:
    """Every kernel boundary: bubblewrap where it is installed, and adrs's own jail."""
    bwrap = shutil.which("bwrap") is not None
    return [pytest.param("bwrap", id="bwrap", marks=pytest.mark.skipif(
                not bwrap, reason="bubblewrap is not installed (.ci/run installs it)")),
            pytest.param("jail", id="jail")]


def run(src: str, mode: str, cases=CASES, deny=(), share=(), **limits):
    """`f(**case)` of `src` for each case, under `mode`, with small test limits."""
    settings = {"wall_seconds": 10.0, "cpu_seconds": 10, "memory_mb": 512, **limits}
    return run_candidate(src, "f", cases, Limits(mode=mode, **settings), deny, share=share)


def sandbox_processes() -> list[int]:
    """Live processes running as nobody: as root, every sandboxed candidate is nobody."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == NOBODY:
                    found.append(int(entry))
            except OSError:
                pass
    return found


def leftover_groups() -> list[Path]:
    found = cgroups.hierarchies()
    mine = f"adrs-{os.getpid()}-"
    return [g for c in found.names() for g in getattr(found, c).glob(mine + "*")]


def fresh_layers() -> None:
    confine.layers.cache_clear()
