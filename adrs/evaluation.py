"""One evaluation: run the candidate in the sandbox, then score its outputs here.

The scorer is the problem's trusted code and runs in the controller's process;
the candidate only ever runs in the sandbox child.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field, replace

from adrs import artifacts
from adrs.config import Limits
from adrs.hashing import functional_hash
from adrs.problem import Problem
from adrs.problem_files import problem_files
from adrs.sandbox import Outcome, run_candidate


@dataclass(frozen=True)
class Evaluation:
    """One candidate's outcome: status, score and metrics, or a failure with its reason."""

    status: str  # ok | failed | equivalent (stopped after the probes)
    score: float | None = None
    metrics: dict = field(default_factory=dict)
    failure: str | None = None
    error: str | None = None
    seconds: float = 0.0
    functional_hash: str | None = None
    probe_seconds: float = 0.0
    artifacts: dict | None = None  # the evaluator's text feedback (adrs.artifacts)
    node: str = ""  # where the sandbox ran (Outcome.node)


RETRIED = "evaluated twice: its warm sandbox template died during the first run"

# Given a functional hash, True to go on with the full evaluation.
HashGate = Callable[[str], bool]


def run_here(problem: Problem, source: str, limits: Limits, deny_read: tuple[str, ...],
             probe: bool, on_probe: Callable[[list], bool]) -> Outcome:
    """Run the candidate in a sandbox on this machine."""
    return run_candidate(source, problem.evaluator.entrypoint, problem.cases_json, limits,
                         deny_read, problem.probes_json if probe else None, on_probe,
                         problem.harness, problem.preload, problem.share)


# A sandboxed run: run_here's shape. Where one happens is the executor's choice
# (adrs/executors/base.py sets it, per evaluation thread).
Runner = Callable[[Problem, str, Limits, tuple, bool, Callable[[list], bool]], Outcome]
RUNNER: ContextVar = ContextVar("adrs_runner", default=run_here)


def evaluate(problem: Problem, source: str, limits: Limits, deny_read: tuple[str, ...] = (),
             gate: HashGate | None = None, probe: bool = True) -> Evaluation:
    """Probe (when the problem has probes), then evaluate fully unless `gate` says stop."""
    problem_files(problem, deny_read).check()  # the files the run started with
    seen: list[str] = []

    def on_probe(outputs: list) -> bool:
        seen.append(functional_hash(outputs, problem.probe_rtol))
        return gate is None or gate(seen[0])

    out = RUNNER.get()(problem, source, limits, deny_read, probe, on_probe)
    fh = seen[0] if seen else None
    ev = Evaluation("equivalent", seconds=out.wall_seconds) if out.stopped else \
        _score(problem, out)
    if out.retried:  # recorded with the candidate, shown wherever its feedback is
        ev = replace(ev, artifacts={**(ev.artifacts or {}), "sandbox": RETRIED})
    return replace(ev, functional_hash=fh, probe_seconds=out.probe_seconds, node=out.node)


def _score(problem: Problem, out: Outcome) -> Evaluation:
    if not out.ok:
        return Evaluation("failed", failure=out.failure, error=out.error,
                          seconds=out.wall_seconds, artifacts=artifacts.from_failure(out.log))
    try:
        metrics = problem.evaluator.score(out.outputs, trusted_seconds(out))
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
    numbers, notes = artifacts.split_scored(metrics)
    return Evaluation("ok", float(score), numbers, seconds=out.wall_seconds, artifacts=notes)


def trusted_seconds(out: Outcome) -> list[float]:
    """Each case's time as the scorer sees it: the CPU time the kernel charged to the
    sandbox during the call (every process and thread in it), which machine load
    barely moves, or the parent's wall clock where there are no cgroups. Never a
    time the candidate measured itself."""
    return list(out.cpu_seconds) if out.cpu_seconds is not None else list(out.seconds or [])


def _line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:300]
