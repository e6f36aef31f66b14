"""In-memory summary of the visible population, kept in step with the store.

Holds ids and scores only, never source text. Adding a candidate costs
O(elite_pool); selection costs O(elite_pool); neither grows with the number of
stored candidates.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace

from adrs.store.records import Scored


@dataclass
class Population:
    """One island's (or the archive's) members and elites, in memory."""

    elite_pool: int
    elites: list[Scored] = field(default_factory=list)  # best first
    members: list[Scored] = field(default_factory=list)  # every successful candidate
    # parent id -> children so far; islands share one dict (a parent is one program)
    children: dict[int, int] = field(default_factory=dict)
    _where: dict[int, int] = field(default_factory=dict)  # id -> index in members

    def add(self, s: Scored) -> bool:
        """Add a candidate (False if it is already here, e.g. a returning migrant)."""
        if s.id in self._where:
            return False
        self._where[s.id] = len(self.members)
        self.members.append(s)
        self._place(s)
        return True

    def score_of(self, candidate_id: int) -> float | None:
        """The score of a member, or None if it is not one."""
        at = self._where.get(candidate_id)
        return None if at is None else self.members[at].score

    def rescore(self, candidate_id: int, score: float) -> None:
        """A member's score changed (running mean of a noisy problem): re-rank it."""
        at = self._where.get(candidate_id)
        if at is None:
            return  # not visible yet: it is revealed with its stored score
        s = replace(self.members[at], score=score)
        self.members[at] = s
        self.elites = [e for e in self.elites if e.id != candidate_id]
        self._place(s)

    def _place(self, s: Scored) -> None:
        keys = [(-e.score, e.iteration) for e in self.elites]
        at = bisect.bisect(keys, (-s.score, s.iteration))
        if at < self.elite_pool:
            self.elites.insert(at, s)
            del self.elites[self.elite_pool:]

    @property
    def best(self) -> Scored | None:
        """The best elite, or None while empty."""
        return self.elites[0] if self.elites else None
