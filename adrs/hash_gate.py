"""The worker side of one evaluation: probe, then evaluate fully unless an earlier
candidate already behaves the same (the functional-hash gate).

It runs wherever evaluations run (a local pool's thread, a Ray task's caller, the
controller's side of an `adrs worker` job), not as a stage of the controller.

Every sandboxed evaluation the controller submits is `evaluate_child`, so an
executor sees one function with one result shape: (Evaluation, the iteration of
the equivalent earlier candidate or None).
"""

from __future__ import annotations

from dataclasses import dataclass

from adrs.config import Limits
from adrs.evaluation import Evaluation, evaluate
from adrs.problem import Problem
from adrs.search.equivalence import EquivalenceRegistry


@dataclass(frozen=True)
class Gate:
    """Iteration `iteration` asks `registry` whether an earlier candidate had its
    probe outputs. With `reevaluate_every` K > 0 (noisy problems), every K-th
    equivalent is still evaluated in full, as a fresh sample of the shared score."""

    registry: EquivalenceRegistry
    iteration: int
    reevaluate_every: int = 0


def evaluate_child(problem: Problem, source: str, limits: Limits, deny: tuple[str, ...],
                   gate: Gate | None, probe: bool = True) -> tuple[Evaluation, int | None]:
    """Without a gate the probes run only if `probe` (the functional hash is then
    recorded, nothing is skipped)."""
    if gate is None:
        return evaluate(problem, source, limits, deny, probe=probe), None
    same_as: list[int | None] = []

    def decide(fhash: str) -> bool:
        first, earlier = gate.registry.resolve(gate.iteration, fhash)
        same_as.append(first)
        every = gate.reevaluate_every
        return first is None or (every > 0 and earlier % every == 0)

    try:
        ev = evaluate(problem, source, limits, deny, decide)
    finally:
        if not same_as:
            gate.registry.abandon(gate.iteration)
    return ev, (same_as[0] if same_as else None)
