"""Sources and behaviours already seen, and what a duplicate's record copies.

A syntactic duplicate (the same compiled program) is recorded without running
anything; a functional one (the same probe outputs) after its probes. Both copy
their original's outcome from memory, never by re-reading its row.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace

from adrs.hashing import syntactic_hash
from adrs.mutate.base import Mutation
from adrs.store.records import CandidateRecord, DuplicateKind, Sample, Status


@dataclass(frozen=True)
class Again:
    """Makes iteration i's child again (a cheap mutator: `Mutator.repeat_retries`)."""

    make: Callable[[], Mutation]
    tries: int


@dataclass
class Child:
    """A child waiting for its evaluation (or for the original it duplicates)."""

    record: CandidateRecord
    future: Future | None = None
    duplicates: list[CandidateRecord] = field(default_factory=list)
    followers: list[Child] = field(default_factory=list)  # functional duplicates of this one


class Duplicates:
    """Sources seen or in flight (syntactic duplicates), and the outcomes a duplicate
    copies from its original, kept in memory."""

    def __init__(self, syntactic: bool):
        self.syntactic = syntactic
        self.ids: dict[int, int] = {}  # iteration -> candidate id, once recorded
        self._seen: dict[str, int] = {}  # syntactic hash -> the candidate with that source
        self._evaluating: dict[str, Child] = {}  # syntactic hash -> its child, in flight
        # candidate id -> (score, metrics, failure) as first recorded: what a duplicate
        # copies (a noisy original's mean moves as samples are revealed; its own result
        # does not, so a copy never depends on when it was made)
        self._outcomes: dict[int, tuple[float | None, dict | None, str | None]] = {}

    def restore(self, row) -> None:
        """Learn a stored row (on resume)."""
        self.remember(row.iteration, row.id, row.score, row.metrics, row.failure)
        if row.status != Status.DUPLICATE and row.syntactic_hash:
            self._seen.setdefault(row.syntactic_hash, row.id)

    def remember(self, iteration: int, cid: int, score, metrics, failure) -> None:
        """Keep a recorded candidate's outcome, for duplicates to copy."""
        self.ids[iteration] = cid
        self._outcomes[cid] = (score, metrics, failure)

    def fresh(self, mutation: Mutation, again: Again | None) -> tuple[Mutation, str | None]:
        """The mutation, or where it repeats an earlier source, another one (up to
        `again.tries`; the last repeat is kept if none is new), with its source's
        syntactic hash where one was computed."""
        if again is None or mutation.source is None:
            return mutation, None
        h = syntactic_hash(mutation.source)
        for _ in range(again.tries):
            if not self.repeats(h):
                break
            retry = again.make()
            if retry.source is None:
                break
            mutation, h = retry, syntactic_hash(retry.source)
        return mutation, h

    def repeats(self, syntactic_hash: str) -> bool:
        """True if a candidate stored or in flight has this source (no side effect)."""
        return self.syntactic and (syntactic_hash in self._seen
                                   or syntactic_hash in self._evaluating)

    def place(self, record: CandidateRecord) -> int | Child | None:
        """Where a new source goes: the id of the stored candidate it repeats, the
        child in flight with the same source (the record then waits on it), or None
        when it is new and must be evaluated."""
        if not self.syntactic:
            return None
        h = record.syntactic_hash
        if h in self._seen:
            return self._seen[h]
        if h in self._evaluating:
            self._evaluating[h].duplicates.append(self.syntactic_copy(record))
            return self._evaluating[h]
        return None

    def evaluating(self, child: Child) -> None:
        """`child` is being evaluated: a later copy of its source waits for it."""
        self._evaluating[child.record.syntactic_hash] = child

    def settled(self, child: Child, cid: int) -> None:
        """The child is recorded as `cid`: later copies of its source repeat it."""
        self.seen(child.record.syntactic_hash, cid)
        self._evaluating.pop(child.record.syntactic_hash, None)

    def seen(self, syntactic_hash: str, cid: int) -> None:
        """`cid` is the stored candidate with this source."""
        self._seen[syntactic_hash] = cid

    @staticmethod
    def syntactic_copy(record: CandidateRecord) -> CandidateRecord:
        """The record marked as a syntactic duplicate."""
        return replace(record, duplicate_kind=DuplicateKind.SYNTACTIC)

    def copy(self, record: CandidateRecord, original_id: int) -> CandidateRecord:
        """The record of a duplicate of `original_id`."""
        if record.duplicate_kind == DuplicateKind.FUNCTIONAL and record.status == Status.OK:
            # a noisy problem's periodic re-evaluation: a fresh sample of the original's
            # score, with its own metrics, folded into the original's mean when revealed
            return replace(record, status=Status.DUPLICATE, duplicate_of=original_id,
                           score_sample=Sample.PENDING)
        score, metrics, failure = self._outcomes[original_id]
        return replace(record, status=Status.DUPLICATE, duplicate_of=original_id, score=score,
                       metrics=metrics or {}, failure=failure,
                       eval_seconds=record.eval_seconds or 0.0)
