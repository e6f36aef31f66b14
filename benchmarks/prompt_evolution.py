"""Do evolving prompts pay? Fixed prompts against `[prompts] evolve = true`, with the
project's fake model, over several seeds.

Two fake models (adrs.mutate.fake_advice): `advice`, whose edits get better when a
prompt holds one of the problem's hidden phrases (its meta replies draw advice from
a vocabulary where those phrases are a third), and `insensitive`, the default fake
model, which advice does not change. For each, seeded runs with fixed prompts and
with evolving ones, private judging with the suite's fixed key. Reported per model:
the median final best of each arm, and the iteration at which the evolving run first
reaches the fixed run's final best (same seed), against the budget; and what the
meta calls cost in tokens.

    python benchmarks/prompt_evolution.py                  # 5 seeds, 200 iterations
    # writes benchmarks/results/prompt_evolution.md (+ .json)
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from common import machine, save

HERE = Path(__file__).parent
KEY = "01" * 32


def one_run(problem: str, model: str, evolve: bool, seed: int, iterations: int,
            meta_every: int) -> dict:
    """One seeded run against its own fake server; its best-so-far curve and costs."""
    home = tempfile.mkdtemp(prefix="adrs-prompts-")
    os.environ["XDG_DATA_HOME"] = home
    (Path(home) / "adrs").mkdir()
    (Path(home) / "adrs" / "judging.key").write_text(KEY + "\n")
    from adrs.loop import Search
    from adrs.mutate.fake_advice import advice_responder
    from adrs.mutate.fake_server import FakeOpenAIServer, offline_responder
    from adrs.runs import start_run

    responder = advice_responder if model == "advice" else offline_responder
    try:
        with FakeOpenAIServer(responder) as server:
            ctx = start_run(problem, name="p", db=None, archive=Path(home) / "a",
                            config_file=None, overrides={
                                "iterations": iterations, "seed": seed, "workers": 1,
                                "mutator": {"kind": "llm", "model": "fake",
                                            "base_url": server.url, "max_retries": 0,
                                            "prices": {"fake": [1.0, 4.0]}},
                                "prompts": {"evolve": evolve, "meta_every": meta_every}})
            Search(ctx, progress=False).run()
        best, curve = float("-inf"), []
        for r in ctx.store.history(ctx.run.id):
            if r.iteration < 0:
                continue
            if r.status == "ok":
                best = max(best, r.score)
            curve.append(best)
        with ctx.store.engine.connect() as conn:
            calls = conn.exec_driver_sql(
                "select purpose, count(*), sum(tokens_in + tokens_out), sum(cost) "
                "from llm_calls group by purpose").fetchall()
        failures = ctx.store.summary(ctx.run.id)["failures"]
        return {"problem": problem, "model": model, "evolve": evolve, "seed": seed,
                "curve": curve, "best": best, "failures": failures,
                "calls": {p: {"calls": n, "tokens": int(t or 0), "cost": float(c or 0.0)}
                          for p, n, t, c in calls}}
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if xs else None


def reached(curve: list[float], target: float) -> int | None:
    """The first iteration whose best so far is at least `target`."""
    return next((i for i, b in enumerate(curve) if b >= target - 1e-12), None)


def table(results: list[dict], iterations: int) -> list[str]:
    lines = ["| fake model | fixed prompts: median best | evolving: median best | evolving "
             "reaches the fixed run's best at (median; per seed) | meta calls (median tokens, "
             "share of all tokens) |", "|---|---|---|---|---|"]
    for model in ("advice", "insensitive"):
        runs = [r for r in results if r["model"] == model]
        if not runs:
            continue
        fixed = {r["seed"]: r for r in runs if not r["evolve"]}
        evo = {r["seed"]: r for r in runs if r["evolve"]}
        at = [reached(evo[s]["curve"], fixed[s]["best"]) for s in sorted(fixed) if s in evo]
        shown = ", ".join("never" if a is None else str(a) for a in at)
        meta = [evo[s]["calls"].get("meta", {}).get("tokens", 0) for s in evo]
        total = [sum(c["tokens"] for c in evo[s]["calls"].values()) for s in evo]
        share = sum(meta) / max(sum(total), 1)
        lines.append(
            f"| {model} | {_median([r['best'] for r in fixed.values()]):.4f} | "
            f"{_median([r['best'] for r in evo.values()]):.4f} | "
            f"{_median([a if a is not None else iterations + 1 for a in at])} of "
            f"{iterations} ({shown}) | {_median(meta)} ({share:.0%}) |")
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--problem", default="txn_scheduling")
    p.add_argument("--iterations", type=int, default=200)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--meta-every", type=int, default=10)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--out", type=Path, default=HERE / "results" / "prompt_evolution.md")
    args = p.parse_args()
    load = os.getloadavg()[0]
    jobs = [(args.problem, m, e, s, args.iterations, args.meta_every)
            for m in ("advice", "insensitive") for e in (False, True) for s in range(args.seeds)]
    with ProcessPoolExecutor(args.jobs) as pool:
        results = list(pool.map(one_run, *zip(*jobs, strict=True)))
    lines = [f"# Evolving prompts against fixed ones ({machine()})", "",
             f"{args.problem}, {args.seeds} seeds x {args.iterations} iterations per arm, "
             f"meta step every {args.meta_every} iterations (4 islands take turns), the "
             f"project's fake model, private judging with the suite's fixed key; load "
             f"{load:.2f} at the start. `python benchmarks/prompt_evolution.py`.", "",
             *table(results, args.iterations), "",
             "Failures by reason per run (a timeout under load changes a run's path): " +
             "; ".join(f"{r['model']}/{'evolving' if r['evolve'] else 'fixed'}/seed "
                       f"{r['seed']}: " + (", ".join(f"{k} {v}" for k, v in
                                                     sorted(r["failures"].items())) or "none")
                       for r in results)]
    save(args.out, lines, results)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
