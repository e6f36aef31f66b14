"""A controller's start: its stages rebuilt from the store (a fresh run has no rows
yet), then the initial program and the baselines evaluated if they are not stored.

Each function takes what it works on, typed, and returns what it found or made;
adrs.loop wires the results in. None of them touches the controller.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adrs.errors import UserError
from adrs.hashing import syntactic_hash
from adrs.mutate import Mutator
from adrs.run_context import RunContext
from adrs.search.equivalence import EquivalenceRegistry
from adrs.stages.bundle import Stages
from adrs.stages.pipeline import Pipeline, Restored
from adrs.store.records import CandidateRecord, Status

if TYPE_CHECKING:  # the type only: the row class is built with the database layer
    from adrs.store.plain import CandidateRow


def restore(ctx: RunContext, stages: Stages, mutator: Mutator) -> Restored:
    """Fill the stages in from the store: spending, duplicates, the search state, the
    progress bar; replies paid for but never used go back to the mutator."""
    usage = ctx.store.model_usage(ctx.run.id).values()
    stages.budget.restore(sum(u["cost"] for u in usage),
                          sum(u["tokens_in"] + u["tokens_out"] for u in usage))
    rows = ctx.store.history(ctx.run.id)
    replies = ctx.store.unclaimed_replies(ctx.run.id)  # paid for: served, not asked again
    if replies:
        mutator.reuse(replies)
        stages.calls.reuse(replies)
    known: dict[str, list[int]] = {}
    for r in rows:
        stages.progress.note(r)
        stages.dups.restore(r)
        if r.functional_hash:
            known.setdefault(r.functional_hash, []).append(r.iteration)
    if stages.prompts is not None:
        stages.prompts.restore()
    stages.schedule.restore(rows, ctx.store.search_events(ctx.run.id))
    registry = EquivalenceRegistry(known) if ctx.config.hashing.functional else None
    return Restored(frozenset(r.iteration for r in rows), registry)


def ensure_initial(ctx: RunContext, pipeline: Pipeline) -> CandidateRow | CandidateRecord:
    """Evaluate the initial program once; refuse to search from one that fails."""
    initial = ctx.store.initial(ctx.run.id)
    if initial is None:
        source = ctx.problem.initial_source
        ev, _ = pipeline.submit(source).result()
        initial = CandidateRecord(
            iteration=0, source=source, syntactic_hash=syntactic_hash(source),
            status=ev.status, score=ev.score, metrics=ev.metrics, failure=ev.failure,
            error=ev.error, eval_seconds=ev.seconds, evaluated_on=ev.node or None,
            mutation="initial program",
            artifacts=ev.artifacts,
            functional_hash=ev.functional_hash, probe_seconds=ev.probe_seconds)
        pipeline.dups.seen(initial.syntactic_hash, pipeline.record(initial))
        if initial.functional_hash and pipeline.equivalence is not None:
            pipeline.equivalence.resolve(0, initial.functional_hash)
    if initial.status != Status.OK:
        problem = ctx.problem
        where = problem.initial_path or "the initial program"
        named = problem.name if problem.origin == "bundled" else problem.root
        raise UserError(f"the initial program of {problem.name} fails ({initial.failure}: "
                        f"{initial.error}); fix {where} (check it with `adrs eval {named} "
                        f"{where}`), then `adrs resume {ctx.run.name}` evaluates it again")
    return initial


def seed_baselines(ctx: RunContext, pipeline: Pipeline) -> dict[str, float | None]:
    """`start_from = "baselines"`: each baseline recorded as a candidate of generation
    0 beside the initial program (iterations -1, -2, ... in name order), which every
    island starts from. Returns the scores of those recorded now (the run's baselines)."""
    names = sorted(ctx.problem.baselines)
    todo = {-(k + 1): n for k, n in enumerate(names) if -(k + 1) not in pipeline.done}
    sources = {i: ctx.problem.baselines[n].read_text() for i, n in todo.items()}
    futures = {i: pipeline.submit(sources[i]) for i in sorted(todo)}
    scores = {}
    for i in sorted(todo):
        ev, _ = futures[i].result()
        record = CandidateRecord(
            iteration=i, source=sources[i], syntactic_hash=syntactic_hash(sources[i]),
            status=ev.status, score=ev.score, metrics=ev.metrics, failure=ev.failure,
            error=ev.error, eval_seconds=ev.seconds, evaluated_on=ev.node or None,
            mutation=f"baseline {todo[i]}",
            artifacts=ev.artifacts, functional_hash=ev.functional_hash,
            probe_seconds=ev.probe_seconds)
        pipeline.dups.seen(record.syntactic_hash, pipeline.record(record))
        if record.functional_hash and pipeline.equivalence is not None:
            pipeline.equivalence.resolve(i, record.functional_hash)
        scores[todo[i]] = ev.score
    return scores


def score_baselines(ctx: RunContext, pipeline: Pipeline) -> dict[str, float | None]:
    """The problem's baseline programs scored, once per run: {} when the run already
    has their scores (or the problem has none)."""
    if ctx.run.baselines or not ctx.problem.baselines:
        return {}
    futures = {n: pipeline.submit(p.read_text()) for n, p in ctx.problem.baselines.items()}
    return {n: f.result()[0].score for n, f in futures.items()}
