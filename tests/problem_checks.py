"""What every bundled problem's tests check alike: the README's figures, and that an
offline search improves on the initial program."""

import re

import pytest

from adrs.config import build
from adrs.evaluation import evaluate
from adrs.loop import Search
from adrs.runs import start_run
from adrs.status import run_status

FIGURE = re.compile(r"^\| (\w+) +\| (-?[0-9.]+) \|", re.M)  # | name | score | ...


def evaluated(problem, source: str, probe: bool = False):
    return evaluate(problem, source, build(problem.defaults).sandbox, probe=probe)


def check_readme_figures(problem) -> dict[str, float]:
    """Every baseline and the initial program score as the problem's README says."""
    recorded = dict(FIGURE.findall((problem.root / "README.md").read_text()))
    programs = {"initial": problem.initial_source,
                **{n: p.read_text() for n, p in problem.baselines.items()}}
    scores = {}
    for name, source in programs.items():
        ev = evaluated(problem, source)
        assert ev.status == "ok", (name, ev.error)
        assert ev.score == pytest.approx(float(recorded[name]), abs=5e-4), name
        scores[name] = ev.score
    return scores


def offline_gain(folder, tmp_path, iterations: int, seed: int) -> float:
    """Best minus initial score of a seeded offline search on the problem."""
    ctx = start_run(str(folder), name="gain", db=None, archive=tmp_path, config_file=None,
                    overrides={"iterations": iterations, "seed": seed})
    Search(ctx, progress=False).run()
    status = run_status(ctx.store, ctx.run)
    ctx.store.close()
    return status["best_score"] - status["initial_score"]
