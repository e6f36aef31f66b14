"""A controller's start: its stages rebuilt from the store (a fresh run has no rows
yet), then the initial program and the baselines evaluated if they are not stored."""

from __future__ import annotations

from adrs.errors import UserError
from adrs.hashing import syntactic_hash
from adrs.search.equivalence import EquivalenceRegistry
from adrs.store.records import CandidateRecord, Status


def restore(search) -> None:
    ctx = search.ctx
    usage = ctx.store.model_usage(ctx.run.id).values()
    search.budget.restore(sum(u["cost"] for u in usage),
                          sum(u["tokens_in"] + u["tokens_out"] for u in usage))
    rows = ctx.store.history(ctx.run.id)
    search.pipeline.done.update(r.iteration for r in rows)
    replies = ctx.store.unclaimed_replies(ctx.run.id)  # paid for: served, not asked again
    if replies:
        search.mutator.reuse(replies)
        search.calls.reuse(replies)
    known: dict[str, list[int]] = {}
    for r in rows:
        search.progress.note(r)
        search.dups.restore(r)
        if r.functional_hash:
            known.setdefault(r.functional_hash, []).append(r.iteration)
    search.schedule.restore(rows, ctx.store.search_events(ctx.run.id))
    if ctx.config.hashing.functional:
        search.pipeline.equivalence = EquivalenceRegistry(known)


def ensure_initial(search) -> None:
    """Evaluate the initial program once; refuse to search from one that fails."""
    ctx, pipeline = search.ctx, search.pipeline
    initial = ctx.store.initial(ctx.run.id)
    if initial is None:
        source = ctx.problem.initial_source
        ev, _ = pipeline.submit(source).result()
        initial = CandidateRecord(
            iteration=0, source=source, syntactic_hash=syntactic_hash(source),
            status=ev.status, score=ev.score, metrics=ev.metrics, failure=ev.failure,
            error=ev.error, eval_seconds=ev.seconds, mutation="initial program",
            artifacts=ev.artifacts,
            functional_hash=ev.functional_hash, probe_seconds=ev.probe_seconds)
        search.dups.seen(initial.syntactic_hash, pipeline.record(initial))
        if initial.functional_hash and pipeline.equivalence is not None:
            pipeline.equivalence.resolve(0, initial.functional_hash)
    if initial.status != Status.OK:
        problem = ctx.problem
        where = problem.initial_path or "the initial program"
        named = problem.name if problem.origin == "bundled" else problem.root
        raise UserError(f"the initial program of {problem.name} fails ({initial.failure}: "
                        f"{initial.error}); fix {where} (check it with `adrs eval {named} "
                        f"{where}`), then `adrs resume {ctx.run.name}` evaluates it again")


def ensure_baselines(search) -> None:
    """Score the problem's baseline programs once per run, for comparison."""
    ctx = search.ctx
    if ctx.run.baselines or not ctx.problem.baselines:
        return
    futures = {n: search.pipeline.submit(p.read_text())
               for n, p in ctx.problem.baselines.items()}
    scores = {n: f.result()[0].score for n, f in futures.items()}
    ctx.store.update_run(ctx.run.id, baselines=scores)
    ctx.run = ctx.store.get_run(ctx.run.name)
