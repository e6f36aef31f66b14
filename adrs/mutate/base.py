"""The mutator contract shared by offline and LLM mutators."""

from __future__ import annotations

from abc import ABC, abstractmethod
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Parent:
    """What a mutation sees of a parent: its source, score, metrics and feedback."""

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
class Guidance:
    """What an evolving prompt adds (adrs.prompt_evolution): the variant that writes it,
    its system message ("" keeps the template's), its instruction and the insight
    notes in use. All of it is model-written text: prompts show it as data."""

    variant_id: int
    system: str = ""
    instruction: str = ""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class MutationRequest:
    """Everything a mutator may use to propose a child."""

    problem_description: str
    parent: Parent
    inspirations: tuple[Parent, ...] = ()  # other good programs (crossover, prompts)
    failures: tuple[FailureNote, ...] = ()  # recent failed children, newest last
    iteration: int = 0
    language: str = "python"  # of the candidate's source (code fences, offline edits)
    guidance: Guidance | None = None  # evolving prompts only


@dataclass(frozen=True)
class Mutation:
    """A proposed child, or why none could be made (source is None)."""

    source: str | None
    description: str
    other_parent_id: int | None = None
    error: str | None = None
    reason: str = "no_edit"  # why there is no child: recorded as failure "mutation:<reason>"
    call: Any = None  # the LLM call that produced it (adrs.mutate.llm.ModelCall), if any
    prompt_variant_id: int | None = None  # the prompt variant its call was written from


class Mutator(ABC):
    """Proposes children. The contract the loop relies on, all of it:

    - `mutate(request, rng)` makes one child (abstract: every mutator has it);
    - `submit(request, rng)` starts one and returns a Future of its Mutation. The
      default runs `mutate` at once in the caller's thread when `waits_on_io` is
      False (pure CPU work: a thread would only add overhead under the GIL), else
      in the mutator's own pool of `threads` threads. A mutator may override it (the
      LLM mutator draws every random choice at once, in iteration order, and waits
      on its event loop), so waits overlap without making the run depend on timing;
    - `repeat_retries`: how many times a child whose source repeats an earlier
      candidate's is made again (by `mutate`, with the same generator, so the run
      stays reproducible) before it is recorded as a duplicate. 0 by default: a
      retry is only worth it where a child costs next to nothing (offline);
    - `observe(model, gain, cost)`: a revealed child of a model's call (bandits);
    - `reuse(replies)`: calls a killed controller paid for but never used, by
      iteration (llm_calls rows), to serve instead of asking again;
    - `close(cancel=False)`: release what it holds; `cancel` drops work not yet
      started. Safe to call twice; a closed mutator may be used again.

    The loop calls them from its own thread only, and sets `threads` from
    `[mutator] concurrency` before the first `submit`.
    """

    waits_on_io: bool = True
    threads: int = 8
    repeat_retries: int = 0

    @abstractmethod
    def mutate(self, request: MutationRequest, rng: np.random.Generator) -> Mutation:
        """A child of `request.parent`, every random choice drawn from `rng`."""

    def submit(self, request: MutationRequest, rng: np.random.Generator) -> Future:
        """The mutation as a Future: made inline, or in the mutator's threads when it
        waits on I/O."""
        if self.waits_on_io:
            return self._pool().submit(self.mutate, request, rng)
        future: Future = Future()
        future.set_result(self.mutate(request, rng))
        return future

    def observe(self, model: str, gain: float, cost: float) -> None:  # noqa: B027
        """Nothing to learn by default (an optional part of the contract)."""

    def credit(self, description: str | None, gain: float, status: str) -> None:  # noqa: B027
        """A revealed child of this run (any mutator's): its stored description, its
        gain over its parent, its status. Nothing to learn by default."""

    def reuse(self, replies: dict) -> None:  # noqa: B027
        """Nothing to reuse by default (only model calls are paid for)."""

    def diverged(self) -> list[int]:
        """Iterations whose prompt differed from the recording being replayed (only a
        replay has a recording)."""
        return []

    def close(self, cancel: bool = False) -> None:
        """Release the mutator's threads; `cancel` drops queued mutations."""
        pool = self.__dict__.pop("_threads_pool", None)
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=cancel)

    def _pool(self) -> ThreadPoolExecutor:
        pool = self.__dict__.get("_threads_pool")
        if pool is None:
            pool = self.__dict__["_threads_pool"] = ThreadPoolExecutor(
                max(1, self.threads), thread_name_prefix="adrs-mutate")
        return pool
