"""Scaling with workers: the local pool vs Ray on a CPU-bound evaluator.

Every candidate is a new program whose evaluation burns ~0.5 s of CPU in the
real sandbox (`cpu_problem/`), so the rate is bound by evaluation, not by the
controller. For each worker count W the pool gets W sandboxes at once and a
local Ray gets W CPUs (one per task); the search keeps 2W iterations in flight.
Parallel efficiency = rate(W) / (W x rate(1)). On a machine with fewer than W
cores the best it can be is cores / W, which the table shows beside it.

    python benchmarks/scaling.py            # writes benchmarks/results/scaling.md
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from common import machine, save
from throughput import InstantMutator

from adrs.config import build
from adrs.loop import RunContext, Search
from adrs.problem import load_problem
from adrs.store import open_store, sqlite_url

HERE = Path(__file__).parent
PROBLEM = HERE / "cpu_problem"


def program(value: float) -> str:
    return ("# EVOLVE-BLOCK-START\ndef value(n):\n    s = 0\n    for i in range(n):\n"
            f"        s += i % 7\n    return {value!r} + 0 * s\n# EVOLVE-BLOCK-END\n")


class BusyMutator(InstantMutator):
    template = staticmethod(program)


def measure(executor: str, workers: int, iterations: int) -> dict:
    problem = load_problem(PROBLEM, "benchmark")
    if executor == "ray":
        import ray

        ray.init(address="local", num_cpus=workers, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = open_store(sqlite_url(Path(tmp) / "adrs.db"))
            cfg = build({"iterations": iterations, "workers": workers, "executor": executor,
                         "search": {"in_flight": 2 * workers}})
            run = store.create_run("scale", "cpu_bound", str(PROBLEM), cfg.to_dict(), 0,
                                   iterations)
            stamps = []
            add = store.add_candidate
            store.add_candidate = lambda *a: (stamps.append(time.perf_counter()), add(*a))[1]
            Search(RunContext(store, run, problem, cfg, Path(tmp)), mutator=BusyMutator(),
                   progress=False).run()
            store.close()
    finally:
        if executor == "ray":
            ray.shutdown()
    # from the first child recorded (iteration 0 is the initial program) to the last
    rate = (len(stamps) - 2) / (stamps[-1] - stamps[1])
    return {"executor": executor, "workers": workers, "iterations": iterations, "it_per_s": rate}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", default="1,2,4,8,16")
    ap.add_argument("--per-worker", type=int, default=12, help="iterations timed per worker")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "scaling.md")
    args = ap.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    results = []
    for executor in ("local", "ray"):
        for w in counts:
            r = measure(executor, w, max(24, args.per_worker * w))
            results.append(r)
            print(f"{executor:>5} {w:>2} workers: {r['it_per_s']:.2f} it/s", flush=True)
    write(results, args.out)
    print(args.out.read_text())


def write(results: list[dict], out: Path) -> None:
    cores = os.cpu_count() or 1
    one = {r["executor"]: r["it_per_s"] for r in results if r["workers"] == 1}
    lines = [
        "# Scaling with workers: local pool vs Ray, CPU-bound evaluator",
        "",
        f"Machine: {machine()}. Command: `python benchmarks/scaling.py`. Each evaluation "
        "is a fresh sandboxed process burning ~0.5 s of CPU; Ray is a local Ray with "
        "`num_cpus` = workers.",
        "",
        "| executor | workers | iterations timed | iterations/s | parallel efficiency "
        "| best possible on this machine |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        w = r["workers"]
        eff = r["it_per_s"] / (w * one[r["executor"]]) if r["executor"] in one else float("nan")
        lines.append(f"| {r['executor']} | {w} | {r['iterations']} | {r['it_per_s']:.2f} "
                     f"| {eff:.0%} | {min(w, cores) / w:.0%} |")
    save(out, lines, results)


if __name__ == "__main__":
    main()
