"""Offline edits of source that is not Python (a Rust, C or R candidate that its
evaluator compiles): number literals perturbed and comparisons swapped in the text
of the evolvable region. Cruder than the AST edits, but language-agnostic and
seeded the same way."""

from __future__ import annotations

import math
import re

import numpy as np

# a number not glued to a name (x1, u32), a dot-call (v.0) or another number
_NUMBER = re.compile(r"(?<![\w.])(\d+\.\d*|\d*\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.])")
_COMPARISON = re.compile(r"(?<=\s)(<=|>=|<|>)(?=\s)")
_SWAP = {"<": "<=", "<=": "<", ">": ">=", ">=": ">"}


def edit(region: str, rng: np.random.Generator, max_edits: int) -> tuple[str, list[str]]:
    """The region with 1..max_edits edits, and what each did."""
    done: list[str] = []
    wanted = min(int(rng.geometric(0.5)), max_edits)
    for _ in range(4 * wanted):
        if len(done) >= wanted:
            break
        fn = _perturb_number if rng.random() < 0.75 else _swap_comparison
        changed = fn(region, rng)
        if changed is not None:
            region, note = changed
            done.append(note)
    return region, done


def _perturb_number(text: str, rng) -> tuple[str, str] | None:
    found = [m for m in _NUMBER.finditer(text) if not _in_comment(text, m.start())]
    if not found:
        return None
    m = found[int(rng.integers(len(found)))]
    old = m.group(0)
    if any(c in old for c in ".eE"):
        value = float(old)
        new = f"{value * math.exp(rng.normal(0.0, 0.5)) if value else rng.random():.4g}"
        if not any(c in new for c in ".eE"):
            new += ".0"  # stays a float literal: 2 is an int in Rust and C
    else:
        new = str(max(0, int(old) + int(rng.choice([-2, -1, 1, 2])) * max(1, int(old) // 4)))
    if new == old:
        return None
    return text[: m.start()] + new + text[m.end():], f"constant {old} -> {new}"


def _swap_comparison(text: str, rng) -> tuple[str, str] | None:
    found = [m for m in _COMPARISON.finditer(text) if not _in_comment(text, m.start())]
    if not found:
        return None
    m = found[int(rng.integers(len(found)))]
    new = _SWAP[m.group(0)]
    return text[: m.start()] + new + text[m.end():], f"comparison {m.group(0)} -> {new}"


def _in_comment(text: str, pos: int) -> bool:
    line = text[text.rfind("\n", 0, pos) + 1: pos]
    return "//" in line or "#" in line or line.lstrip().startswith(("*", "/*", "--"))
