"""What syntactic and functional hashing save, and what the probes cost.

1. Probe cost: for every bundled problem and each of its programs (initial and
   baselines), time spent on the probes vs the wall time of a full evaluation.
2. Search: the same seeded offline search with hashing on and off: full
   evaluations run, duplicates by kind, wall time, best score.
3. Bound: the CPU a search would take with a free sandbox, from the initial
   program's probes and full evaluation timed in this process (no sandbox) and
   the searches' own counts: what hashing could save at best, and at best with a
   free controller too. Each candidate hashing skips still computes its probes.

    python benchmarks/hashing.py      # writes benchmarks/results/hashing.md
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from common import machine, score_in_process

from adrs.config import build
from adrs.evaluation import evaluate
from adrs.hashing import functional_hash
from adrs.loop import Search
from adrs.problem import find_problem, list_problems
from adrs.runs import start_run
from adrs.sandbox.box import codec
from adrs.status import run_status

HERE = Path(__file__).parent


def probe_costs(repeats: int = 5) -> list[tuple]:
    rows = []
    for listing in list_problems():
        problem = find_problem(listing.name)
        limits = build(problem.defaults).sandbox
        programs = [("initial", problem.initial_source)] + [
            (n, p.read_text()) for n, p in sorted(problem.baselines.items())]
        for name, src in programs:
            evs = [evaluate(problem, src, limits) for _ in range(repeats)]
            probe = statistics.median(e.probe_seconds for e in evs)
            full = statistics.median(e.seconds for e in evs)
            rows.append((problem.name, name, probe, full, probe / full))
    return rows


def unsandboxed_costs(name: str, repeats: int = 5) -> tuple[float, float]:
    """CPU seconds of the initial program's probes (hashed) and of its full evaluation
    (cases and scoring), made in this process: what they cost with no sandbox."""
    problem = find_problem(name)
    namespace: dict = {}
    exec(compile(problem.initial_source, "<benchmark>", "exec"), namespace)  # noqa: S102
    fn = namespace[problem.evaluator.entrypoint]
    probes, cases = ([codec.decode(json.loads(t), finite=False) for t in texts]
                     for texts in (problem.probes_json, problem.cases_json))

    def timed(work) -> float:
        start = time.process_time()
        work()
        return time.process_time() - start
    probe = [timed(lambda: functional_hash([fn(**p) for p in probes], problem.probe_rtol))
             for _ in range(repeats)]
    full = [timed(lambda: score_in_process(problem, fn, cases)) for _ in range(repeats)]
    return statistics.median(probe), statistics.median(full)


def _bound(runs: list[dict], probe: float, full: float) -> str:
    """The best wall-time saving a free sandbox allows (the machine saturated, wall
    follows CPU), with this controller and with a free one."""
    on = [r for r in runs if r["hashing"]]
    off = [r for r in runs if not r["hashing"]]
    probed = sum(r["evaluations"] + r["functional"] for r in on)
    work_on = probed * probe + sum(r["evaluations"] for r in on) * full
    work_off = sum(r["evaluations"] for r in off) * full
    ctl_on, ctl_off = (sum(r["controller"] for r in rows) for rows in (on, off))
    with_ctl = 1 - (work_on + ctl_on) / (work_off + ctl_off)
    return (f"Bound: in this process, with no sandbox, the initial program's probes cost "
            f"{1e3 * probe:.1f} ms of CPU and its full evaluation {1e3 * full:.1f} ms "
            f"({probe / full:.0%}). With a free sandbox the searches above would save at most "
            f"{with_ctl:.0%} of their CPU (wall time, the machine saturated) with this "
            f"controller, and at most {1 - work_on / work_off:.0%} with a free controller too: "
            "each candidate hashing skips still computes its probes.")


def search(problem: str, seed: int, iterations: int, hashing: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        flags = {"syntactic": hashing, "functional": hashing}
        ctx = start_run(problem, name="bench", db=None, archive=Path(tmp), config_file=None,
                        overrides={"iterations": iterations, "seed": seed, "hashing": flags})
        start, cpu = time.perf_counter(), os.times()
        Search(ctx, progress=False).run()
        wall, done = time.perf_counter() - start, os.times()
        st = run_status(ctx.store, ctx.run)
        sandbox = sum(ctx.store.get_candidate(r.id).eval_seconds or 0.0
                      for r in ctx.store.history(ctx.run.id))
        ctx.store.close()
    dups = st["duplicates"]
    controller = done.user + done.system - cpu.user - cpu.system
    return {"seed": seed, "hashing": hashing, "wall": wall, "best": st["best_score"],
            "sandbox": sandbox, "controller": controller,
            "evaluations": st["candidates"] - sum(dups.values()),
            "syntactic": dups.get("syntactic", 0), "functional": dups.get("functional", 0)}


def _saving(runs: list[dict], key: str) -> float:
    on = sum(r[key] for r in runs if r["hashing"])
    return 1 - on / sum(r[key] for r in runs if not r["hashing"])


def _summary(runs: list[dict]) -> str:
    on = [r for r in runs if r["hashing"]]
    off = [r for r in runs if not r["hashing"]]

    def mean(rows, key):
        return statistics.mean(r[key] for r in rows)

    saved, wall, sandbox = (_saving(runs, k) for k in ("evaluations", "wall", "sandbox"))
    return (f"Over {len(on)} seeds, hashing ran {saved:.0%} fewer full evaluations, spent "
            f"{sandbox:.0%} less time in the sandbox and took {wall:.0%} less wall time; "
            f"mean best score {mean(on, 'best'):.4f} with hashing vs {mean(off, 'best'):.4f} "
            f"without (median {statistics.median(r['best'] for r in on):.4f} vs "
            f"{statistics.median(r['best'] for r in off):.4f}). A functional duplicate costs "
            "a warm fork and its probes; what hashing cannot save is the controller's own "
            "work per iteration (the offline mutator, syntactic hashing, bookkeeping: the "
            "controller CPU column), which on 2 cores competes with the evaluations.")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--problem", default="moe_expert_placement")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--iterations", type=int, default=200)
    args = ap.parse_args()
    before = os.getloadavg()[0]
    costs = probe_costs()
    unsandboxed = [unsandboxed_costs(args.problem)]
    runs = [search(args.problem, int(s), args.iterations, h)
            for s in args.seeds.split(",") for h in (True, False)]
    unsandboxed.append(unsandboxed_costs(args.problem))  # the machine's speed drifts
    lines = ["# Hashing: savings and probe cost", "",
             f"Machine: {machine()}; load average {before:.2f} before, "
             f"{os.getloadavg()[0]:.2f} after. Command: `python benchmarks/hashing.py`.", "",
             "## Probe cost per candidate (median of 5)", "",
             "| problem | program | probes s | full evaluation s | share |",
             "|---|---|---:|---:|---:|"]
    lines += [f"| {p} | {n} | {pr:.4f} | {full:.3f} | {share:.1%} |"
              for p, n, pr, full, share in costs]
    lines += ["", f"## Seeded offline search on {args.problem}, {args.iterations} iterations",
              "", "| seed | hashing | full evaluations | syntactic dups | functional dups "
              "| sandbox s | controller CPU s | wall s | best score |",
              "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['seed']} | {'on' if r['hashing'] else 'off'} | {r['evaluations']} | "
              f"{r['syntactic']} | {r['functional']} | {r['sandbox']:.1f} | "
              f"{r['controller']:.1f} | {r['wall']:.1f} | {r['best']:.4f} |"
              for r in runs]
    probe, full = (statistics.mean(c) for c in zip(*unsandboxed, strict=True))
    lines += ["", _summary(runs), "", _bound(runs, probe, full)]
    out = HERE / "results" / "hashing.md"
    out.write_text("\n".join(lines) + "\n")
    print(out.read_text())


if __name__ == "__main__":
    main()
