"""What iteration i may see: every result of iterations <= i - in_flight, revealed in
iteration order, whatever order they finished in.

Revealing a result feeds the search state (selection, islands, the grid), stores
the structural events it caused, remembers failures for the prompt, tells the
mutator how its model did, and folds a noisy problem's fresh score sample into its
original's mean. All of it happens here, in iteration order, so none of it
depends on timing or on the number of workers.
"""

from __future__ import annotations

import heapq
from collections import deque
from typing import TYPE_CHECKING

from adrs.mutate.base import FailureNote, Mutator
from adrs.search.state import Event, SearchState
from adrs.store.records import HistoryRow, Sample, Status

if TYPE_CHECKING:  # types only: importing them here would load the database layer
    from adrs.prompt_evolution import PromptEvolution
    from adrs.store import Store


class Schedule:
    """Reveals results to the search in iteration order, once `in_flight` iterations
    have passed them, and does everything revealing a result entails."""

    def __init__(self, store: Store, run_id: int, state: SearchState, mutator: Mutator,
                 failures: int, prompts: PromptEvolution | None = None):
        self.store, self.run_id, self.state, self.mutator = store, run_id, state, mutator
        self.prompts = prompts  # evolving prompts: credited by every revealed child
        self.failures: deque[FailureNote] = deque(maxlen=failures)  # shown in prompts
        self._unrevealed: list[tuple[int, HistoryRow]] = []  # heap by iteration
        self._stored_events: set[tuple] = set()  # keys of events already in the store

    def restore(self, rows: list[HistoryRow], events) -> None:
        """Every stored result waits to be revealed again; its events are not re-stored."""
        for r in rows:
            self.add(r)
        self._stored_events = {Event(e.kind, e.iteration, e.island, (), e.cell).key
                               for e in events}

    def add(self, row: HistoryRow) -> None:
        """A recorded result, to be revealed in its turn."""
        heapq.heappush(self._unrevealed, (row.iteration, row))

    def reveal(self, upto: int) -> None:
        """Reveal every result of iterations <= upto, in iteration order."""
        while self._unrevealed and self._unrevealed[0][0] <= upto:
            _, r = heapq.heappop(self._unrevealed)
            if r.status == Status.FAILED:
                self.failures.append(FailureNote(r.mutation, r.failure or "", r.error))
            self._fold(r)
            events = [e for e in self.state.reveal(r) if e.key not in self._stored_events]
            self.store.add_search_events(self.run_id, events)  # none again on resume
            parent = self.state.archive.score_of(r.parent_id)  # every visible success
            gain = r.score - parent if r.status == Status.OK and parent is not None else 0.0
            self.mutator.credit(r.mutation, gain, r.status)
            if r.model:
                self.mutator.observe(r.model, gain, r.cost)
            if self.prompts is not None:
                self.prompts.reveal(r, gain)

    def settle(self) -> None:
        """The run ends: fold the score samples nobody will reveal in this run."""
        for _, r in sorted(self._unrevealed, key=lambda x: x[0]):
            self._fold(r)

    def _fold(self, r: HistoryRow) -> None:
        if r.score_sample != Sample.PENDING:
            return
        folded = self.store.fold_score_sample(r.id)
        if folded is not None:  # None: folded before this controller started
            original_id, mean = folded
            self.state.rescore(original_id, mean)
