"""The offline search engine on every bundled problem: does it find something?

For each bundled problem, seed and mode, one seeded run with the offline mutator
and private judging (a fixed judging key, as the tests use, so the figures are the
same on any machine), and the best found against the problem's best baseline:

- `initial`: generation 0 is the initial program; donors "both" (the baselines and
  the run's best programs are a library of fragments);
- `baselines`: `--start-from baselines`, the baselines beside the initial program.

Per run it also counts the children's outcomes: valid share (scored ok), syntactic
and functional duplicate shares. `--label before` on an older checkout records the
same table for the mutator before issue 31 (it has no donors or --start-from: its
`initial` mode is the plain run), and the report puts the two side by side.

    python benchmarks/offline_search.py                       # 3 seeds, 2,000 iterations
    python benchmarks/offline_search.py --iterations 300 --seeds 1   # a quick look
    # writes benchmarks/results/offline_search.md (+ .json); runs go two at a time
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from common import machine, save

HERE = Path(__file__).parent
ROOT = HERE.parent
SLOW = {"function_minimization", "online_bin_packing", "optimizer_discovery"}  # ~0.5 s/eval
KEY = "01" * 32  # the suite's fixed judging key: private data, the same everywhere


def _problems() -> list[str]:
    return sorted(p.name for p in (ROOT / "problems").iterdir()
                  if (p / "problem.toml").is_file() or (p / "evaluator.py").is_file())


def one_run(problem: str, mode: str, seed: int, iterations: int, label: str) -> dict:
    """One seeded search; its best, the baselines and the children's outcomes."""
    home = tempfile.mkdtemp(prefix="adrs-bench-")
    os.environ["XDG_DATA_HOME"] = home
    (Path(home) / "adrs").mkdir()
    (Path(home) / "adrs" / "judging.key").write_text(KEY + "\n")
    from adrs.loop import Search
    from adrs.runs import start_run

    overrides = {"iterations": iterations, "seed": seed, "workers": 1}
    if label != "before":
        overrides["mutator"] = {"donors": "both"}
        overrides["start_from"] = mode
    try:
        ctx = start_run(problem, name="b", db=None, archive=Path(home) / "archive",
                        config_file=None, overrides=overrides)
        start = time.monotonic()
        Search(ctx, progress=False).run()
        every = ctx.store.history(ctx.run.id)
        rows = [r for r in every if r.iteration > 0]
        kinds = {"syntactic": 0, "functional": 0}
        summary = ctx.store.summary(ctx.run.id)
        best = ctx.store.best(ctx.run.id, 1)
        kinds.update(summary["duplicates"])
        baselines = {k: v for k, v in (ctx.store.get_run("b").baselines or {}).items()
                     if v is not None}
        return {"problem": problem, "mode": mode, "seed": seed, "label": label,
                "iterations": len(rows), "iterations_planned": iterations,
                "transplant_in_best_line": bool(best) and _transplanted(every, best[0].id),
                "seconds": time.monotonic() - start, "load": os.getloadavg()[0],
                "initial": ctx.store.initial(ctx.run.id).score,
                "best": best[0].score if best else None,
                "best_baseline": max(baselines.values()) if baselines else None,
                "best_baseline_name": max(baselines, key=baselines.get) if baselines else None,
                "valid": sum(r.status == "ok" for r in rows) / max(len(rows), 1),
                "syntactic_dup": kinds.get("syntactic", 0) / max(len(rows), 1),
                "functional_dup": kinds.get("functional", 0) / max(len(rows), 1)}
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _transplanted(rows, best_id: int) -> bool:
    """Whether a transplant of a donor's function is among the edits that led to the
    best (how much of a win from the initial program came from a baseline)."""
    by_id = {r.id: r for r in rows}
    at = by_id.get(best_id)
    while at is not None:
        if "transplant" in (at.mutation or ""):
            return True
        at = by_id.get(at.parent_id)
    return False


def _jobs(problems, modes, args) -> list[tuple]:
    """Every (problem, mode, seed) to run, quick problems first; a problem without
    baselines runs `initial` only (from the baselines it would be the same run)."""
    quick = sorted(problems, key=lambda p: (p in SLOW, p))
    return [(pr, m, s, args.iterations, args.label) for pr in quick for m in modes
            for s in range(args.seeds) if m == "initial" or _has_baselines(pr)]


def _has_baselines(problem: str) -> bool:
    return any((ROOT / "problems" / problem / "baselines").glob("*.py"))


def run_all(jobs: list[tuple], raw: Path, workers: int, resume: bool) -> list[dict]:
    """The runs, the .json rewritten after each one ends (an interrupted benchmark
    goes on with --resume)."""
    key = ("problem", "mode", "seed", "label")
    done = json.loads(raw.read_text()) if resume and raw.is_file() else []
    done = [r for r in done if r.get("iterations_planned") == jobs[0][3]] if jobs else done
    have = {tuple(r[k] for k in key) for r in done}
    todo = [j for j in jobs if (j[0], j[1], j[2], j[4]) not in have]
    raw.parent.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(workers) as pool:
        futures = [pool.submit(one_run, *j) for j in todo]
        for f in as_completed(futures):
            done.append(f.result())
            raw.write_text(json.dumps(done, indent=2) + "\n")
            r = done[-1]
            print(f"{r['problem']} {r['mode']} seed {r['seed']}: best {r['best']} "
                  f"({r['seconds']:.0f} s)", flush=True)
    return done


def _missing(jobs: list[tuple], results: list[dict]) -> str:
    """A line naming the planned runs not in the results (an interrupted benchmark)."""
    have = {(r["problem"], r["mode"], r["seed"]) for r in results}
    left = sorted({f"{j[0]} {j[1]}" for j in jobs if (j[0], j[1], j[2]) not in have})
    return ("Not run yet (go on with --resume): " + ", ".join(left) + ".") if left else \
        "Every planned run is in."


def _median(xs):
    xs = sorted(x for x in xs if x is not None)
    return xs[len(xs) // 2] if xs else None


def table(results: list[dict], before: list[dict]) -> tuple[list[str], dict]:
    """The markdown report: per problem and mode, best vs the best baseline."""
    lines = ["| problem | mode | best baseline (median) | best found (median) | vs baseline "
             "(median) | beats it in | vs initial (median) | transplant in best's line "
             "| valid | syntactic dup | functional dup | before: valid / syn dup / fun dup |",
             "|---" * 12 + "|"]
    wins = {"initial": 0, "baselines": 0}
    for problem in sorted({r["problem"] for r in results}):
        for mode in ("initial", "baselines"):
            runs = [r for r in results if r["problem"] == problem and r["mode"] == mode]
            if not runs:
                continue
            # each seed is judged on its own private data: compare within a seed
            base = _median(r["best_baseline"] for r in runs)
            best = _median(r["best"] for r in runs)
            gaps = [r["best"] - r["best_baseline"] for r in runs
                    if r["best"] is not None and r["best_baseline"] is not None]
            beats = sum(g > 1e-9 for g in gaps)
            wins[mode] += bool(gaps) and beats > len(runs) / 2
            gap = f"{_median(gaps):+.4f}" if gaps else "n/a"
            gains = [r["best"] - r["initial"] for r in runs if r["best"] is not None]
            gain = f"{_median(gains):+.4f}" if gains else "n/a"
            moved = sum(r.get("transplant_in_best_line", False) for r in runs)
            prev = [r for r in before if r["problem"] == problem]
            was = (f"{_mean(prev, 'valid'):.0%} / {_mean(prev, 'syntactic_dup'):.0%} / "
                   f"{_mean(prev, 'functional_dup'):.0%}") if prev and mode == "initial" else ""
            lines.append(
                f"| {problem} | {mode} | {_num(base)} ({runs[0]['best_baseline_name']}) | "
                f"{_num(best)} | {gap} | {beats}/{len(runs)} | {gain} | {moved}/{len(runs)} | "
                f"{_mean(runs, 'valid'):.0%} | {_mean(runs, 'syntactic_dup'):.0%} | "
                f"{_mean(runs, 'functional_dup'):.0%} | {was} |")
    return lines, wins


def _mean(runs, key):
    return sum(r[key] for r in runs) / max(len(runs), 1)


def _num(x):
    return "n/a" if x is None else f"{x:.4f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iterations", type=int, default=2000)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--problems", nargs="*", default=None)
    p.add_argument("--modes", nargs="*", default=["initial", "baselines"])
    p.add_argument("--label", default="after", help="after (this checkout) or before")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--out", type=Path, default=HERE / "results" / "offline_search.md")
    p.add_argument("--resume", action="store_true",
                   help="keep the runs already in the .json (same settings) and do the rest")
    p.add_argument("--report", action="store_true",
                   help="run nothing: write the table from the runs in the .json files")
    args = p.parse_args()
    problems = args.problems or _problems()
    modes = ["initial"] if args.label == "before" else args.modes
    load = os.getloadavg()[0]
    raw = args.out.with_name(f"offline_search_{args.label}.json")
    jobs = _jobs(problems, modes, args)
    if args.report:
        results = [r for r in json.loads(raw.read_text())
                   if r.get("iterations_planned") == args.iterations]
    else:
        results = run_all(jobs, raw, args.jobs, args.resume)
    if args.label == "before":
        print(f"wrote {raw}")
        return
    before_file = args.out.with_name("offline_search_before.json")
    before = json.loads(before_file.read_text()) if before_file.is_file() else []
    lines, wins = table(results, before)
    loads = [r["load"] for r in results if "load" in r]
    load_text = (f"load {min(loads):.1f}-{max(loads):.1f} as runs ended" if loads else
                 f"load {load:.2f} at the start" if not args.report else
                 "load not recorded (8-14: other benchmarks ran beside it)")
    head = [f"# Offline search on the bundled problems ({machine()})", "",
            f"{args.seeds} seeds x {args.iterations} iterations per problem and mode, private "
            f"judging (fixed key), {args.jobs} runs at a time, {load_text}. "
            f"Beats the best baseline (median of seeds): from the initial program "
            f"{wins['initial']}/{len(problems)}, from the baselines {wins['baselines']}/"
            f"{len(problems)}.", "", *lines, "", _missing(jobs, results)]
    save(args.out, head)
    print("\n".join(head))


if __name__ == "__main__":
    main()
