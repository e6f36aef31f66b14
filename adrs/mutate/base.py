"""The mutator contract shared by offline and LLM mutators."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class Parent:
    id: int
    source: str
    score: float | None
    metrics: dict = field(default_factory=dict)
    artifacts: dict = field(default_factory=dict)  # its evaluator's feedback, name -> text


@dataclass(frozen=True)
class FailureNote:
    """A recent failed child, shown to models so they learn what breaks."""

    mutation: str | None
    failure: str
    error: str | None = None


@dataclass(frozen=True)
class MutationRequest:
    """Everything a mutator may use to propose a child."""

    problem_description: str
    parent: Parent
    inspirations: tuple[Parent, ...] = ()  # other good programs (crossover, prompts)
    failures: tuple[FailureNote, ...] = ()  # recent failed children, newest last
    iteration: int = 0
    language: str = "python"  # of the candidate's source (code fences, offline edits)


@dataclass(frozen=True)
class Mutation:
    """A proposed child, or why none could be made (source is None)."""

    source: str | None
    description: str
    other_parent_id: int | None = None
    error: str | None = None
    reason: str = "no_edit"  # why there is no child: recorded as failure "mutation:<reason>"
    call: Any = None  # the LLM call that produced it (adrs.mutate.llm.LLMCall), if any


class Mutator(Protocol):
    """Proposes one child. A mutator that sets `waits_on_io = False` (pure CPU work) is
    run inline by the loop, one that does not in a thread pool. A mutator may instead
    implement `submit` (the LLM mutator does): it makes every random choice at once,
    in iteration order, and returns a Future of the slow part, so waits overlap
    without making the run depend on timing; `close` then releases its resources."""

    def mutate(self, request: MutationRequest, rng: np.random.Generator) -> Mutation: ...

    def submit(self, request: MutationRequest, rng: np.random.Generator) -> Future: ...
