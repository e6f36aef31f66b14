"""Shared helpers for the sandbox tests: run a candidate under one backend, and find
anything a sandbox left behind."""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

import pytest

from adrs.sandbox import Limits, cgroups, confine, encode_cases, run_candidate
from adrs.sandbox.box.lockdown import NOBODY

CASES = encode_cases([{"x": 1.0}])

# Binary reply frames that must be refused, each for the reason named.
_ARRAY = '{{"out": {{"__ndarray__": "<f8", "shape": {shape}, "at": {at}}}}}'
BAD_BINARY = [
    (_ARRAY.format(shape="[2]", at="0"), b"\x00" * 16),  # not [offset, length]
    (_ARRAY.format(shape="[2]", at="[0, -16]"), b"\x00" * 16),  # negative
    (_ARRAY.format(shape="[2]", at="[0, 16]"), b"\x00" * 8),  # data shorter than said
    (_ARRAY.format(shape="[2]", at="[8, 16]"), b"\x00" * 16),  # beyond the frame
    (_ARRAY.format(shape="[3]", at="[0, 16]"), b"\x00" * 16),  # not its shape's size
    (_ARRAY.format(shape="[2]", at="[0, 16]"), b"\xff" * 16),  # NaN
]
BAD_BINARY_NAMES = ["not-a-pair", "negative", "short-data", "beyond", "shape", "nan"]


def binary_frame(text: str, tail: bytes) -> bytes:
    """The body of a binary frame: marker, the text's length, the text, the tail."""
    raw = text.encode()
    return b"\x00" + struct.pack(">I", len(raw)) + raw + tail


def backends() -> list:
    """Every kernel boundary: bubblewrap where it is installed, and adrs's own jail."""
    bwrap = shutil.which("bwrap") is not None
    return [pytest.param("bwrap", id="bwrap", marks=pytest.mark.skipif(
                not bwrap, reason="bubblewrap is not installed (.ci/run installs it)")),
            pytest.param("jail", id="jail")]


WARM = {"warm": True}  # test_hostile runs its corpus with this both ways


def run(src: str, mode: str, cases=CASES, deny=(), share=(), **limits):
    """`f(**case)` of `src` for each case, under `mode`, with small test limits."""
    settings = {"wall_seconds": 10.0, "cpu_seconds": 10, "memory_mb": 512, **WARM, **limits}
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
