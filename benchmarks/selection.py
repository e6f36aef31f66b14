"""Per-iteration selection cost vs the number of stored candidates.

The loop's search structures (4 islands with migration and resets, a MAP-Elites
grid, the archive) take in N results, as when a run with N stored candidates
is resumed; then `select` (the per-iteration work) is timed, as is `reveal`
(taking in one more result). Neither may grow with N: the target is that at
100,000 candidates they stay within 2x of 1,000.

    python benchmarks/selection.py      # writes benchmarks/results/selection.md
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from common import machine, save

from adrs.config import SearchConfig
from adrs.search.state import SearchState
from adrs.store import HistoryRow

HERE = Path(__file__).parent
CONFIG = SearchConfig(selection="weighted", islands=4, migration_interval=50, reset_after=500,
                      map_elites=True, grid_bins=8,
                      features={"code_length": [64.0, 8192.0], "balance": [0.0, 1.0]})


def rows(n: int, start: int = 0):
    rng = np.random.default_rng(start)
    for i in range(start, start + n):
        score = float(rng.random() * (1 + i / 1000))  # slowly improving, as a search does
        yield HistoryRow(i, i + 1, "ok" if i % 3 else "duplicate", score, 1,
                         max(1, i // 2), "h", None, island=i % CONFIG.islands,
                         metrics={"score": score, "balance": float(rng.random())},
                         code_length=int(rng.integers(100, 6000)))


def measure(n: int, calls: int) -> dict:
    state = SearchState(CONFIG)
    for r in rows(n):
        state.reveal(r)
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for i in range(calls):
        state.select(n + i, rng)
    select_us = (time.perf_counter() - t0) / calls * 1e6
    more = list(rows(calls, start=n))
    t0 = time.perf_counter()
    for r in more:
        state.reveal(r)
    reveal_us = (time.perf_counter() - t0) / calls * 1e6
    return {"stored": n, "select_us": select_us, "reveal_us": reveal_us,
            "cells": len(state.grid.cells)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--calls", type=int, default=20000)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "selection.md")
    args = ap.parse_args()
    results = [measure(int(n), args.calls) for n in args.sizes.split(",")]
    base = results[0]
    lines = ["# Selection cost vs stored candidates", "",
             f"Machine: {machine()}. 4 islands (migration every 50, resets), "
             "MAP-Elites 8x8, weighted selection. Command: `python benchmarks/selection.py`.",
             "", "| stored candidates | select µs | vs 1,000 | reveal µs | vs 1,000 | grid cells |",
             "|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r['stored']:,} | {r['select_us']:.1f} | "
                     f"{r['select_us'] / base['select_us']:.2f}x | {r['reveal_us']:.1f} | "
                     f"{r['reveal_us'] / base['reveal_us']:.2f}x | {r['cells']} |")
    save(args.out, lines, results)
    print(args.out.read_text())


if __name__ == "__main__":
    main()
