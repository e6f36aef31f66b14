"""Iterations/s of an LLM search against a slow model, with many requests in flight.

The fake OpenAI-compatible server runs as its own process (`adrs fake-llm`),
as a real endpoint would, with a fixed latency per reply. The controller runs
the real LLM mutator (openai client, prompt rendering, diff/rewrite parsing,
call recording) with `in_flight` requests outstanding. The ideal rate is
in_flight / latency (64 it/s for 32 requests at 0.5 s). Two evaluators:

- trivial: the score is read off the child's source in the controller, so
  what is timed is the LLM path and adrs itself;
- sandbox: every child is a real moe_expert_placement candidate, evaluated (probes,
  functional hashing, full evaluation, scoring) in the real sandbox by 2 workers,
  warm (forked from a template, adrs/sandbox/warm.py) and, with --cold, cold (a fresh
  interpreter per evaluation).

    python benchmarks/llm_throughput.py     # writes benchmarks/results/llm_throughput.md
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import Future
from pathlib import Path

from common import machine, save

from adrs.config import build
from adrs.evaluation import Evaluation
from adrs.executors import Executor
from adrs.loop import RunContext, Search
from adrs.problem import find_problem, load_problem
from adrs.store import open_store, sqlite_url

HERE = Path(__file__).parent
PROBLEM = HERE / "trivial_problem"


class TrivialExecutor(Executor):
    """Scores a child by the number it returns, read off its source; nothing is run."""

    def submit(self, fn, problem, source, *args):
        try:
            score = float(source.split("return ")[1].split("\n")[0])
        except (IndexError, ValueError):
            score = 0.0
        ev = Evaluation("ok", score, {"score": score})
        f = Future()  # shaped like what evaluate_child returns: no earlier equivalent
        f.set_result((ev, None))
        return f

    def shutdown(self, cancel=False):
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fake_llm(latency: float):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "adrs", "fake-llm", "--port", str(port),
                             "--latency", str(latency)], stdout=subprocess.PIPE, text=True)
    proc.stdout.readline()  # the "listening" line
    return proc, f"http://127.0.0.1:{port}/v1"


def measure(url: str, in_flight: int, iterations: int, sandboxed: bool,
            warm: bool = True, workers: int = 2) -> dict:
    problem = find_problem("moe_expert_placement") if sandboxed else \
        load_problem(PROBLEM, "benchmark")
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(sqlite_url(Path(tmp) / "adrs.db"))
        cfg = build(problem.defaults if sandboxed else {},
                    {"iterations": iterations, "workers": workers,
                     "search": {"in_flight": in_flight}, "sandbox": {"warm": warm},
                     "mutator": {"kind": "llm", "model": "fake", "base_url": url,
                                 "concurrency": in_flight, "max_retries": 0}})
        run = store.create_run("bench", problem.name, str(problem.root), cfg.to_dict(), 0,
                               iterations)
        stamps = []
        add = store.add_candidate
        store.add_candidate = lambda *a: (stamps.append(time.perf_counter()), add(*a))[1]
        ctx = RunContext(store, run, problem, cfg, Path(tmp))
        Search(ctx, progress=False, executor=None if sandboxed else TrivialExecutor()).run()
        with store.engine.connect() as conn:
            failed = conn.exec_driver_sql("select count(*) from llm_calls where error is not "
                                          "null").scalar()
        store.close()
    # steady state: skip the first in_flight records (the pipeline filling)
    timed = stamps[in_flight:]
    rate = (len(timed) - 1) / (timed[-1] - timed[0])
    return {"in_flight": in_flight, "iterations": iterations, "sandboxed": sandboxed,
            "warm": warm, "workers": workers, "it_per_s": rate, "failed_calls": failed}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--latency", type=float, default=0.5)
    ap.add_argument("--in-flight", type=int, default=32)
    ap.add_argument("--iterations", type=int, default=1000)
    ap.add_argument("--sandbox-iterations", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3, help="runs of the warm sandbox row")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "llm_throughput.md")
    args = ap.parse_args()
    proc, url = fake_llm(args.latency)
    load = [os.getloadavg()[0]]
    try:
        warm = [measure(url, args.in_flight, args.sandbox_iterations, True, warm=True)
                for _ in range(args.repeats)]
        rates = sorted(r["it_per_s"] for r in warm)
        warm[0].update(it_per_s=statistics.median(rates), runs=rates)
        results = [measure(url, args.in_flight, args.iterations, False), warm[0],
                   measure(url, args.in_flight, args.sandbox_iterations, True, warm=False)]
    finally:
        proc.terminate()
    load.append(os.getloadavg()[0])
    for r in results:
        r.update(latency=args.latency, ideal=args.in_flight / args.latency)
    write(results, args.out, load)
    print(args.out.read_text())


def write(results: list[dict], out: Path, load: list[float]) -> None:
    lines = [
        "# LLM throughput: many slow requests in flight",
        "",
        f"Machine: {machine()}, SQLite (WAL); load average {load[0]:.2f} before, "
        f"{load[1]:.2f} after. Fake model in its own process (`adrs fake-llm`), real openai "
        "client. Command: `python benchmarks/llm_throughput.py`. The warm sandbox row is the "
        "median of its runs (all of them listed under the table).",
        "",
        "| evaluator | latency s | in flight | iterations | iterations/s | ideal | "
        "% of ideal | failed calls |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        kind = (f"moe_expert_placement, real sandbox ({'warm' if r['warm'] else 'cold'}), "
                "2 workers") if r["sandboxed"] else "trivial (no sandbox)"
        lines.append(f"| {kind} | {r['latency']:g} | {r['in_flight']} | {r['iterations']:,} | "
                     f"{r['it_per_s']:.1f} | {r['ideal']:.0f} | "
                     f"{100 * r['it_per_s'] / r['ideal']:.0f}% | {r['failed_calls']} |")
    runs = next(r["runs"] for r in results if "runs" in r)
    lines += ["", "Warm sandbox runs, it/s: " + ", ".join(f"{r:.1f}" for r in runs)]
    save(out, lines, results)


if __name__ == "__main__":
    main()
