"""A recorded offline search on optimizer_discovery: what it finds vs SGD and Adam.

Seeded offline searches (no LLM), one with the code mutator alone and one
where a tenth of the iterations tune the parent's constants with optuna. The
best program of each is compared with the initial program (plain SGD) and the
baselines on the search tasks (its score) and the held-out tasks. Deterministic:
the same command writes the same table.

    python benchmarks/optimizer_search.py   # writes benchmarks/results/optimizer_search.md
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import machine

from adrs.loop import Search
from adrs.runs import start_run

HERE = Path(__file__).parent
CONFIGS = {
    "offline edits": {},
    "offline edits + constant tuning": {"mutator": {"tune_probability": 0.1,
                                                    "tune_trials": 12}},
}


def search(name: str, overrides: dict, iterations: int, seed: int, tmp: Path) -> dict:
    ctx = start_run("optimizer_discovery", name=name, db=None, archive=tmp, config_file=None,
                    overrides={"iterations": iterations, "seed": seed, **overrides})
    t0 = time.perf_counter()
    Search(ctx, progress=False).run()
    best = ctx.store.best(ctx.run.id, 1)[0]
    return {"name": name, "best": best, "baselines": ctx.run.baselines,
            "initial": ctx.store.initial(ctx.run.id), "seconds": time.perf_counter() - t0}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "optimizer_search.md")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = [search(f"run{k}", cfg, args.iterations, args.seed, Path(tmp))
                for k, cfg in enumerate(CONFIGS.values())]
        write(runs, args)
    print(args.out.read_text())


def write(runs: list[dict], args) -> None:
    from adrs.config import build
    from adrs.evaluation import evaluate
    from adrs.problem import find_problem

    problem = find_problem("optimizer_discovery")
    limits = build(problem.defaults).sandbox
    rows = [("initial program (plain SGD)", runs[0]["initial"].metrics)]
    for name, path in sorted(problem.baselines.items()):
        rows.append((f"baseline: {name}", evaluate(problem, path.read_text(), limits).metrics))
    for label, r in zip(CONFIGS, runs, strict=True):
        rows.append((f"best found: {label} (iteration {r['best'].iteration})", r["best"].metrics))
    lines = ["# Offline search on optimizer_discovery", "",
             f"Machine: {machine()}. Seed {args.seed}, {args.iterations} iterations, "
             "offline mutator, no LLM. Command: `python benchmarks/optimizer_search.py`.", "",
             "| program | score (search tasks) | held-out score |", "|---|---:|---:|"]
    for label, m in rows:
        lines.append(f"| {label} | {m['score']:.4f} | {m['heldout_score']:.4f} |")
    lines.append("")
    for label, r in zip(CONFIGS, runs, strict=True):
        lines += [f"Search with {label}: {r['seconds']:.0f} s. Best program:", "",
                  "```python", r["best"].source.strip(), "```", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
