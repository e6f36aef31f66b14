"""Search quality per strategy: best score vs iterations, several seeds, offline mutator.

For each problem and each strategy (a [search] config), run seeded offline
searches with a fixed budget of iterations (children proposed; a duplicate costs
almost nothing, so the table also counts full evaluations), then plot the best
score so far against iterations (median across seeds, with the min-max band) and
write a table. Judging is private, with the suite's fixed judging key, so the
runs are deterministic and the figures the same on any machine.

    pip install '.[plots]' && python benchmarks/search_quality.py
    python benchmarks/search_quality.py --problems optimizer_discovery --iterations 300
    # writes benchmarks/results/search_quality.md and search_quality_<problem>.png
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from common import machine

HERE = Path(__file__).parent
# Quick problems by default (an optimizer_discovery evaluation costs ~0.5 s)
PROBLEMS = ["moe_expert_placement", "txn_scheduling", "spot_scheduling"]
KEY = "01" * 32  # the suite's fixed judging key: private data, the same everywhere
# Each strategy is a complete [search] choice: the single-population ones set
# islands = 1, since islands are the default now (chosen from this benchmark).
ONE = {"islands": 1}
STRATEGIES = {
    "softmax": {"selection": "softmax", **ONE},
    "weighted": {"selection": "weighted", **ONE},
    "power_law": {"selection": "power_law", **ONE},
    "tournament": {"selection": "tournament", **ONE},
    "uniform": {"selection": "uniform", **ONE},
    "islands_4": {"selection": "softmax", "islands": 4, "migration_interval": 25,
                  "reset_after": 60},
    "map_elites": {"selection": "softmax", "map_elites": True, "grid_bins": 6, **ONE},
}


def one_run(problem: str, strategy: str, seed: int, iterations: int) -> dict:
    from adrs.loop import Search
    from adrs.runs import start_run

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["XDG_DATA_HOME"] = tmp  # where adrs.judging finds the key
        (Path(tmp) / "adrs").mkdir()
        (Path(tmp) / "adrs" / "judging.key").write_text(KEY + "\n")
        ctx = start_run(problem, name="q", db=None, archive=Path(tmp), config_file=None,
                        overrides={"iterations": iterations, "seed": seed, "workers": 1,
                                   "search": STRATEGIES[strategy]})
        Search(ctx, progress=False).run()
        rows = ctx.store.history(ctx.run.id)
        ctx.store.close()
    best, curve = float("-inf"), []
    for r in rows:
        if r.status == "ok":
            best = max(best, r.score)
        curve.append(best)
    full = sum(r.status != "duplicate" for r in rows) - 1  # less the initial program
    return {"problem": problem, "strategy": strategy, "seed": seed, "curve": curve,
            "best": best, "full_evaluations": full}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iterations", type=int, default=1000)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--problems", nargs="*", default=PROBLEMS)
    ap.add_argument("--strategies", nargs="*", default=list(STRATEGIES), choices=STRATEGIES)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", type=Path, default=HERE / "results")
    args = ap.parse_args()
    jobs = [(p, s, seed, args.iterations) for p in args.problems for s in args.strategies
            for seed in range(args.seeds)]
    load = os.getloadavg()[0]
    with ProcessPoolExecutor(args.jobs) as pool:
        results = list(pool.map(one_run, *zip(*jobs, strict=True)))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "search_quality.json").write_text(json.dumps(results) + "\n")
    for p in args.problems:
        plot(p, [r for r in results if r["problem"] == p], args.out / f"search_quality_{p}.png")
    write(results, args, load)
    print((args.out / "search_quality.md").read_text())


def plot(problem: str, results: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for strategy in dict.fromkeys(r["strategy"] for r in results):
        curves = np.array([r["curve"] for r in results if r["strategy"] == strategy])
        x = np.arange(curves.shape[1])
        line, = ax.plot(x, np.median(curves, axis=0), label=strategy)
        ax.fill_between(x, curves.min(axis=0), curves.max(axis=0), alpha=0.12,
                        color=line.get_color())
    ax.set(xlabel="iteration (children proposed)", ylabel="best score so far",
           title=f"{problem}: median and min-max over {len(curves)} seeds")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def write(results: list[dict], args, load: float) -> None:
    lines = ["# Search quality by strategy", "",
             f"Machine: {machine()}, load {load:.2f} at the start. Offline mutator (issue "
             f"31's engine, donors \"both\", from the initial program), {args.iterations} "
             f"iterations, seeds 0-{args.seeds - 1}, private judging with the suite's fixed "
             "key. Command: `python benchmarks/search_quality.py`. Deterministic: the same "
             "command gives the same table anywhere (the load changes only how long it "
             "takes).", ""]
    for p in args.problems:
        lines += [f"## {p}", "", f"![best score vs iterations](search_quality_{p}.png)", "",
                  "| strategy | median best | mean best | min | max | at half budget "
                  "(median) | full evaluations (mean) |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        rows = []
        for s in args.strategies:
            rs = [r for r in results if r["problem"] == p and r["strategy"] == s]
            best = np.array([r["best"] for r in rs])
            half = np.median([r["curve"][len(r["curve"]) // 2] for r in rs])
            full = np.mean([r["full_evaluations"] for r in rs])
            rows.append((np.median(best), s, best, half, full))
        for med, s, best, half, full in sorted(rows, key=lambda r: (-r[0], -r[2].mean())):
            lines.append(f"| {s} | {med:.4f} | {best.mean():.4f} | {best.min():.4f} | "
                         f"{best.max():.4f} | {half:.4f} | {full:.0f} |")
        lines.append("")
    (args.out / "search_quality.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
