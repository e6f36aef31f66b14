"""Framework overhead per iteration as the stored population grows.

For each population size N the store is pre-filled with N candidates, then the
real controller (selection, mutation request, hashing, store writes) runs M
more iterations with an instant mutator and an evaluator that returns at once,
so what is timed is adrs itself. A second mode sends every candidate through
the real sandbox (a fresh process per evaluation) for the end-to-end rate.

    python benchmarks/throughput.py            # writes benchmarks/results/throughput.md
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from concurrent.futures import Future
from pathlib import Path

from common import machine, save
from sqlalchemy import insert

from adrs.config import build
from adrs.evaluation import Evaluation
from adrs.executors import Executor
from adrs.hashing import syntactic_hash
from adrs.loop import RunContext, Search
from adrs.mutate import Mutation, Mutator
from adrs.problem import load_problem
from adrs.store import open_store, sqlite_url
from adrs.store.models import Candidate

HERE = Path(__file__).parent
PROBLEM = HERE / "trivial_problem"


def program(value: float) -> str:
    return f"# EVOLVE-BLOCK-START\ndef value():\n    return {value!r}\n# EVOLVE-BLOCK-END\n"


class InstantMutator(Mutator):
    """A new, never-seen program per call, at no cost."""

    waits_on_io = False
    template = staticmethod(program)  # value -> program source

    def __init__(self):
        self.n = 0

    def mutate(self, request, rng):
        self.n += 1
        return Mutation(self.template(float(rng.random()) + self.n), "instant")


class InstantExecutor(Executor):
    """Evaluates nothing: the score is read off the source, the future is already done.

    Returns what the loop's worker function returns: (Evaluation, equivalent iteration).
    """

    def submit(self, fn, problem, source, *args):
        f = Future()
        score = float(source.split("return ")[1].split("\n")[0])
        f.set_result((Evaluation("ok", score, {"score": score}, seconds=0.0), None))
        return f

    def shutdown(self, cancel=False):
        pass


def prefill(store, run_id: int, n: int) -> None:
    rng = random.Random(0)
    rows = []
    for i in range(n):
        src = program(rng.random() * 1000)
        rows.append(dict(run_id=run_id, iteration=i, source=src,
                         syntactic_hash=syntactic_hash(src), status="ok", score=rng.random(),
                         metrics={"score": 0.0}, generation=0, island=0,
                         parent_id=None if i == 0 else 1, mutation="prefill"))
    with store.engine.begin() as conn:
        for start in range(0, n, 5000):
            conn.execute(insert(Candidate), rows[start:start + 5000])


def measure(n: int, extra: int, sandboxed: bool, workers: int) -> dict:
    problem = load_problem(PROBLEM, "benchmark")
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(sqlite_url(Path(tmp) / "adrs.db"))
        cfg = build({"iterations": n - 1 + extra, "workers": workers})
        run = store.create_run("bench", "trivial", str(PROBLEM), cfg.to_dict(), 0, n - 1 + extra)
        prefill(store, run.id, n)
        stamps = []
        add = store.add_candidate
        store.add_candidate = lambda *a: (stamps.append(time.perf_counter()), add(*a))[1]
        ctx = RunContext(store, run, problem, cfg, Path(tmp))
        t0 = time.perf_counter()
        Search(ctx, mutator=InstantMutator(), progress=False,
               executor=None if sandboxed else InstantExecutor()).run()
        total = time.perf_counter() - t0
        store.close()
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0])
    return {"stored": n, "iterations": extra, "sandboxed": sandboxed, "workers": workers,
            "it_per_s": rate, "ms_per_it": 1000 / rate, "startup_s": total - len(stamps) / rate}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--iterations", type=int, default=2000)
    ap.add_argument("--sandbox-iterations", type=int, default=200)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "throughput.md")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    workers = os.cpu_count() or 1
    results = [measure(n, args.iterations, False, workers) for n in sizes]
    results += [measure(n, args.sandbox_iterations, True, workers) for n in (sizes[0], sizes[-1])]
    write(results, args.out)
    print(args.out.read_text())


def write(results: list[dict], out: Path) -> None:
    lines = [
        "# Throughput: framework overhead vs stored population",
        "",
        f"Machine: {machine()}, SQLite (WAL). Command: `python benchmarks/throughput.py`.",
        "",
        "| stored candidates | mode | iterations timed | iterations/s | ms/iteration |",
        "|---:|---|---:|---:|---:|",
    ]
    for r in results:
        mode = (f"real sandbox, {r['workers']} workers" if r["sandboxed"]
                else "instant mutator + trivial evaluator")
        lines.append(f"| {r['stored']:,} | {mode} | {r['iterations']:,} | {r['it_per_s']:.0f} "
                     f"| {r['ms_per_it']:.2f} |")
    save(out, lines, results)


if __name__ == "__main__":
    main()
