"""The mutator contract shared by offline and LLM mutators."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class Parent:
    id: int
    source: str
    score: float | None
    metrics: dict = field(default_factory=dict)


@dataclass(frozen=True)
class MutationRequest:
    """Everything a mutator may use to propose a child."""

    problem_description: str
    parent: Parent
    inspirations: tuple[Parent, ...] = ()  # other good programs (crossover, prompts)


@dataclass(frozen=True)
class Mutation:
    """A proposed child, or why none could be made (source is None)."""

    source: str | None
    description: str
    other_parent_id: int | None = None
    error: str | None = None
    call: Any = None  # the LLM call that produced it (adrs.mutate.llm.LLMCall), if any


class Mutator(Protocol):
    """Proposes one child. A mutator that sets `waits_on_io = False` (pure CPU work) is
    run inline by the loop; others (LLM calls) run in a pool so their waits overlap."""

    def mutate(self, request: MutationRequest, rng: np.random.Generator) -> Mutation: ...
