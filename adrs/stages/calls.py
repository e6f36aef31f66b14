"""Each iteration's LLM call, stored once, the moment its reply arrives.

A reply is stored from the mutator's thread when it arrives, not when its turn in
the pipeline comes, so a crash in between does not lose a call that was paid for;
the pipeline then finds it stored. Replies a killed controller stored but never
turned into candidates are served again on resume (and not billed again).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from adrs.mutate import Mutation
from adrs.stages.budget import Budget

if TYPE_CHECKING:  # the type only: importing it here would load the database layer
    from adrs.store import Store


class CallLog:
    """Each iteration's LLM call: stored once when its reply arrives, billed in
    turn, and reused (not paid again) when a killed controller left it unclaimed."""

    def __init__(self, store: Store, run_id: int, budget: Budget):
        self.store, self.run_id, self.budget = store, run_id, budget
        self._ids: dict[int, int] = {}  # iteration -> stored llm_calls id
        self._made: dict[int, tuple[str, float]] = {}  # iteration -> (model, cost), unrecorded
        self._prebilled: set[int] = set()  # iterations whose stored reply is reused
        self._lock = threading.Lock()

    def reuse(self, replies: dict) -> None:
        """Stored replies (iteration -> row) the mutator serves again: billed already."""
        for i, row in replies.items():
            self._ids[i] = row.id
            self._prebilled.add(i)

    def stored(self, i: int, mutation: Mutation) -> int | None:
        """Store iteration i's call once, from whichever thread gets there first."""
        if mutation.call is None:
            return None
        with self._lock:
            if i not in self._ids:
                self._ids[i] = self.store.add_llm_call(self.run_id, **mutation.call.__dict__)
            return self._ids[i]

    def taken(self, i: int, mutation: Mutation) -> int | None:
        """Iteration i's mutation reached the pipeline: its call id, billed in turn."""
        call = mutation.call
        if call is None:
            return None
        if i not in self._prebilled:
            self.budget.charge(i, call.cost, call.tokens_in + call.tokens_out)
        self._made[i] = (call.model, call.cost)
        return self.stored(i, mutation)

    def model_and_cost(self, i: int) -> tuple[str | None, float]:
        """The model and cost behind iteration i (once, as its child is recorded)."""
        return self._made.pop(i, (None, 0.0))
