"""Write reference.json: Adam's steps to each task's target, the score's yardstick.

    python problems/optimizer_discovery/make_reference.py

Adam is evaluated like any candidate (sandboxed, same tuning budget and seed),
so its reference is reproducible; a test checks the file against a fresh run.
"""

import json
from pathlib import Path

from adrs.config import build
from adrs.evaluation import evaluate
from adrs.problem import find_problem

HERE = Path(__file__).parent


def adam_steps() -> dict[str, int]:
    problem = find_problem(str(HERE))
    ev = evaluate(problem, (HERE / "baselines" / "adam.py").read_text(),
                  build(problem.defaults).sandbox, probe=False)
    if ev.status != "ok":
        raise SystemExit(f"Adam failed: {ev.failure}: {ev.error}")
    return {k.removesuffix("_steps"): int(v) for k, v in ev.metrics.items()
            if k.endswith("_steps")}


if __name__ == "__main__":
    steps = adam_steps()
    (HERE / "reference.json").write_text(json.dumps(steps, indent=2, sort_keys=True) + "\n")
    print(steps)
