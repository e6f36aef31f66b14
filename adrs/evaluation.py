"""One evaluation: run the candidate in the sandbox, then score its outputs here.

The scorer is the problem's trusted code and runs in the controller's process;
the candidate only ever runs in the sandbox child.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from adrs.problem import Problem
from adrs.sandbox import Limits, run_candidate


@dataclass(frozen=True)
class Evaluation:
    status: str  # ok | failed
    score: float | None = None
    metrics: dict = field(default_factory=dict)
    failure: str | None = None
    error: str | None = None
    seconds: float = 0.0


def evaluate(problem: Problem, source: str, limits: Limits,
             deny_read: tuple[str, ...] = ()) -> Evaluation:
    out = run_candidate(source, problem.evaluator.entrypoint, problem.cases_json, limits,
                        deny_read)
    if not out.ok:
        return Evaluation("failed", failure=out.failure, error=out.error,
                          seconds=out.wall_seconds)
    try:
        metrics = problem.evaluator.score(out.outputs, out.seconds)
    except ValueError as exc:  # the problem's way of saying "invalid output"
        return Evaluation("failed", failure="invalid_output", error=_line(exc),
                          seconds=out.wall_seconds)
    except Exception as exc:  # noqa: BLE001 - odd outputs can trip a scorer; record, go on
        return Evaluation("failed", failure="scorer_error",
                          error=f"{type(exc).__name__}: {_line(exc)}", seconds=out.wall_seconds)
    score = metrics.get("score") if isinstance(metrics, dict) else None
    if not isinstance(score, (int, float)) or not math.isfinite(score):
        return Evaluation("failed", failure="invalid_score",
                          error=f"the scorer returned score={score!r}", seconds=out.wall_seconds)
    clean = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))}
    return Evaluation("ok", float(score), clean, seconds=out.wall_seconds)


def _line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:300]
