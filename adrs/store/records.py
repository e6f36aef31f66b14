"""Plain data that crosses the store boundary: frozen, JSON-able dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple


class Status(StrEnum):
    """A candidate's outcome. StrEnum: stored as, and equal to, its plain string."""

    OK = "ok"
    FAILED = "failed"
    DUPLICATE = "duplicate"


class DuplicateKind(StrEnum):
    """Why a duplicate was not evaluated (in full)."""

    SYNTACTIC = "syntactic"  # the same compiled program as an earlier candidate
    FUNCTIONAL = "functional"  # the same probe outputs as an earlier candidate


class Sample(StrEnum):
    """A noisy problem's functional duplicate that was evaluated in full anyway: a fresh
    sample of its original's score, folded into the original's mean when revealed."""

    PENDING = "pending"
    FOLDED = "folded"


class RunStatus(StrEnum):
    """Where a run stands."""

    RUNNING = "running"
    FINISHED = "finished"
    STOPPED = "stopped"  # a budget ran out or the endpoint went away: resumable
    INTERRUPTED = "interrupted"


class JobStatus(StrEnum):
    """An `adrs worker` evaluation job's place in the queue (adrs.jobs)."""

    QUEUED = "queued"
    CLAIMED = "claimed"
    PROBED = "probed"
    DONE = "done"


@dataclass(frozen=True)
class CandidateRecord:
    """One evaluated (or rejected) program, as the loop hands it to the store."""

    iteration: int
    source: str
    syntactic_hash: str
    status: Status
    parent_id: int | None = None
    other_parent_id: int | None = None
    generation: int = 0
    island: int = 0
    score: float | None = None
    metrics: dict = field(default_factory=dict)
    failure: str | None = None
    error: str | None = None
    duplicate_of: int | None = None
    duplicate_kind: DuplicateKind | None = None
    score_sample: Sample | None = None
    mutation: str | None = None
    llm_call_id: int | None = None
    eval_seconds: float | None = None
    functional_hash: str | None = None
    probe_seconds: float | None = None
    artifacts: dict | None = None  # the evaluator's text feedback, name -> text
    prompt_variant_id: int | None = None  # the prompt variant behind its LLM call
    evaluated_on: str | None = None  # the node (Ray) or worker that ran its sandbox


@dataclass(frozen=True)
class Scored:
    """The summary of a candidate that selection needs: no source text."""

    id: int
    iteration: int
    score: float
    generation: int


class OutcomeRow(NamedTuple):
    """A stored candidate's outcome, for tables over a whole run (no metrics, no source)."""

    id: int
    parent_id: int | None
    status: Status
    score: float | None
    mutation: str | None
    prompt_variant_id: int | None
    cost: float


@dataclass(frozen=True)
class HistoryRow:
    """One stored candidate as the loop sees it when it rebuilds its state."""

    iteration: int
    id: int
    status: Status
    score: float | None
    generation: int
    parent_id: int | None
    syntactic_hash: str
    functional_hash: str | None
    failure: str | None = None
    error: str | None = None
    mutation: str | None = None
    model: str | None = None  # the LLM that proposed it, if any
    cost: float = 0.0  # of that LLM call
    island: int = 0
    metrics: dict | None = None
    code_length: int = 0  # characters of source (a MAP-Elites feature)
    duplicate_of: int | None = None
    score_sample: Sample | None = None
    prompt_variant_id: int | None = None
