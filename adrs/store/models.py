"""SQLAlchemy 2 models: runs, candidates, the LLM calls that produced them, and
the changes to the search's structures (grid cells, migrations, island resets).

The schema is owned by the alembic migrations in `migrations/`; a test checks
that these models and the migrated database agree.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

VERSION_TABLE = "adrs_version"  # adrs's alembic revision (optuna owns alembic_version)


def utcnow() -> datetime:
    """Now, in UTC, without a zone (as every timestamp column stores it)."""
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    """The declarative base of adrs's tables."""


class Run(Base):
    """One search run: its problem, config, seed, target, status and lease."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    problem: Mapped[str] = mapped_column(String(200))
    problem_path: Mapped[str] = mapped_column(Text)
    config: Mapped[dict] = mapped_column(JSON)
    seed: Mapped[int] = mapped_column(Integer)
    iterations: Mapped[int] = mapped_column(Integer)
    baselines: Mapped[dict] = mapped_column(JSON, default=dict)  # name -> score
    status: Mapped[str] = mapped_column(String(20))  # running | finished | interrupted
    elapsed_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    # the live controller ("host:pid") and its last heartbeat: adrs.controller_lease
    controller: Mapped[str | None] = mapped_column(String(200), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # the seed of the run's private judging data (adrs.judging); None: public data
    judging_seed: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # the digest of the problem folder's files when the run began (adrs.problem_files)
    problem_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)


class LLMCall(Base):
    """One LLM request: prompt, reply, tokens, cost, latency, error."""

    __tablename__ = "llm_calls"
    __table_args__ = (Index("ix_llm_calls_run_iteration", "run_id", "iteration"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    model: Mapped[str] = mapped_column(String(200))
    prompt: Mapped[str] = mapped_column(Text)
    response: Mapped[str | None] = mapped_column(Text)
    tokens_in: Mapped[int] = mapped_column(Integer, default=0)
    tokens_out: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    latency_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    iteration: Mapped[int | None] = mapped_column(Integer)  # the child it was made for
    # tokens counted from the text: the server reported no usage, or an invalid one
    usage_estimated: Mapped[bool] = mapped_column(Boolean, default=False,
                                                  server_default=false())
    # "mutation" (made a child of `iteration`) or "meta" (rewrote the prompt before it)
    purpose: Mapped[str] = mapped_column(String(16), default="mutation",
                                         server_default="mutation")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Candidate(Base):
    """One candidate program: source, lineage, hashes, outcome, timings."""

    __tablename__ = "candidates"
    __table_args__ = (
        UniqueConstraint("run_id", "iteration", name="uq_candidates_run_iteration"),
        Index("ix_candidates_run_score", "run_id", "score"),
        Index("ix_candidates_run_synhash", "run_id", "syntactic_hash"),
        Index("ix_candidates_run_status", "run_id", "status", "failure"),
        Index("ix_candidates_run_funhash", "run_id", "functional_hash"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    iteration: Mapped[int] = mapped_column(Integer)  # 0 is the initial program
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("candidates.id"), index=True)
    other_parent_id: Mapped[int | None] = mapped_column(ForeignKey("candidates.id"))
    generation: Mapped[int] = mapped_column(Integer, default=0)
    island: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(Text)
    syntactic_hash: Mapped[str] = mapped_column(String(64))
    functional_hash: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # ok | failed | duplicate
    failure: Mapped[str | None] = mapped_column(String(40))
    error: Mapped[str | None] = mapped_column(Text)
    metrics: Mapped[dict | None] = mapped_column(JSON)
    # the evaluator's text feedback, name -> text, size-bounded (adrs.artifacts)
    artifacts: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    score: Mapped[float | None] = mapped_column(Float)
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("candidates.id"))
    duplicate_kind: Mapped[str | None] = mapped_column(String(16))  # syntactic | functional
    # pending | folded: a fresh score sample of a noisy problem's original (records.Sample)
    score_sample: Mapped[str | None] = mapped_column(String(8), nullable=True)
    mutation: Mapped[str | None] = mapped_column(Text)
    llm_call_id: Mapped[int | None] = mapped_column(ForeignKey("llm_calls.id"))
    eval_seconds: Mapped[float | None] = mapped_column(Float)
    probe_seconds: Mapped[float | None] = mapped_column(Float)
    # the prompt variant its LLM call was written from (evolving prompts), if any
    prompt_variant_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # the node (Ray) or `adrs worker` that ran its sandbox; None: the controller's machine
    evaluated_on: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class PromptVariant(Base):
    """A prompt variant (evolving prompts): its system message and instruction, the
    variant it was rewritten from, who wrote it, the iteration it appeared, the
    iteration it was retired (None: in use)."""

    __tablename__ = "prompt_variants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    island: Mapped[int] = mapped_column(Integer)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("prompt_variants.id"))
    system: Mapped[str] = mapped_column(Text)
    instruction: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(200))  # "seed" or "meta: <model>"
    iteration: Mapped[int] = mapped_column(Integer)
    llm_call_id: Mapped[int | None] = mapped_column(ForeignKey("llm_calls.id"))
    retired_at: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class InsightNote(Base):
    """A model-written note on what works for the problem, shown in later prompts until
    it is dropped (at `dropped_at`) for preceding no improvement."""

    __tablename__ = "insight_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    island: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    iteration: Mapped[int] = mapped_column(Integer)
    llm_call_id: Mapped[int | None] = mapped_column(ForeignKey("llm_calls.id"))
    dropped_at: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SearchEvent(Base):
    """A change to the search structures. The grid is the latest `cell` event per
    cell; an island's members are the candidates born there (candidates.island),
    plus migrants in, and only those since its last `reset`."""

    __tablename__ = "search_events"
    __table_args__ = (Index("ix_search_events_run_kind", "run_id", "kind", "iteration"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    iteration: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # cell | migration | reset
    island: Mapped[int | None] = mapped_column(Integer)
    cell: Mapped[str | None] = mapped_column(String(64))
    candidate_ids: Mapped[list] = mapped_column(JSON)
    score: Mapped[float | None] = mapped_column(Float)


class EvalJob(Base):
    """One sandboxed run queued for `adrs worker` processes: queued -> claimed ->
    (probed -> decided) -> done. The controller decides after the probes."""

    __tablename__ = "eval_jobs"
    __table_args__ = (Index("ix_eval_jobs_run_status", "run_id", "status", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    # submission order: jobs are taken in it, as the local pool starts evaluations in
    # it, so a job waiting at the hash gate never waits on one no worker can take
    seq: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    request: Mapped[dict] = mapped_column(JSON)  # limits, deny_read, probe
    status: Mapped[str] = mapped_column(String(16))  # queued | claimed | probed | done
    worker: Mapped[str | None] = mapped_column(String(200))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    probe: Mapped[dict | None] = mapped_column(JSON)  # encoded probe outputs and seconds
    decision: Mapped[str | None] = mapped_column(String(8))  # go | stop
    outcome: Mapped[dict | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
