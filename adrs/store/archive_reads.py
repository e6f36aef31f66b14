"""Reads for the archive API (adrs.archive): whole-run tables and lineage."""

from __future__ import annotations

from sqlalchemy import func, literal, select

from adrs.store.models import Candidate, LLMCall
from adrs.store.records import Status


class ArchiveReads:
    """Store methods behind adrs.archive.RunView."""

    def candidate_dicts(self, run_id: int, columns, ids=None) -> list[dict]:
        """Every candidate of the run (or those in `ids`), in iteration order, as dicts
        of `columns` (candidate columns, then its call's model, cost and tokens)."""
        c = Candidate
        q = (select(c.id, c.iteration, c.parent_id, c.other_parent_id, c.island, c.generation,
                    c.status, c.score, c.failure, c.duplicate_kind, c.duplicate_of, c.mutation,
                    c.eval_seconds, c.evaluated_on, LLMCall.model, LLMCall.cost, LLMCall.tokens_in,
                    LLMCall.tokens_out)
             .outerjoin(LLMCall, LLMCall.id == c.llm_call_id)
             .where(c.run_id == run_id).order_by(c.iteration))
        if ids is not None:
            q = q.where(c.id.in_(list(ids)))
        with self.session() as s:
            return [dict(zip(columns, row, strict=True)) for row in s.execute(q)]

    def score_series(self, run_id: int) -> list[tuple]:
        """(iteration, status, score, island, failure, created_at) of every candidate, in
        iteration order: what progress curves need, read in one pass."""
        c = Candidate
        q = (select(c.iteration, c.status, c.score, c.island, c.failure, c.created_at)
             .where(c.run_id == run_id).order_by(c.iteration))
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(q)]

    def call_series(self, run_id: int) -> list[tuple]:
        """(iteration, model, tokens, cost, purpose) of every LLM call, in call order."""
        q = (select(LLMCall.iteration, LLMCall.model,
                    LLMCall.tokens_in + LLMCall.tokens_out, LLMCall.cost, LLMCall.purpose)
             .where(LLMCall.run_id == run_id).order_by(LLMCall.id))
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(q)]

    def island_members(self, run_id: int, per_island: int) -> list[tuple]:
        """(island, id, iteration, score) of each island's `per_island` best scored
        candidates (its elite, as selection sees it), best first."""
        c = Candidate
        rank = func.row_number().over(partition_by=c.island,
                                      order_by=(c.score.desc(), c.id)).label("rank")
        inner = (select(c.island, c.id, c.iteration, c.score, rank)
                 .where(c.run_id == run_id, c.status == Status.OK).subquery())
        q = (select(inner.c.island, inner.c.id, inner.c.iteration, inner.c.score)
             .where(inner.c.rank <= per_island).order_by(inner.c.island, inner.c.rank))
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(q)]

    def metric_rows(self, run_id: int, limit: int) -> list[tuple]:
        """(id, iteration, metrics) of the `limit` best scored candidates."""
        c = Candidate
        q = (select(c.id, c.iteration, c.metrics)
             .where(c.run_id == run_id, c.status == Status.OK)
             .order_by(c.score.desc(), c.id).limit(limit))
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(q)]

    def iteration_count(self, run_id: int) -> int:
        """Children recorded (iterations above 0; the initial program and seeded
        baselines are generation 0)."""
        q = select(func.count()).where(Candidate.run_id == run_id, Candidate.iteration > 0)
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar() or 0)

    def children(self, run_id: int) -> dict[int, list[int]]:
        """Parent id -> its children's ids, in iteration order."""
        q = select(Candidate.id, Candidate.parent_id).where(
            Candidate.run_id == run_id, Candidate.parent_id.is_not(None)).order_by(
            Candidate.iteration)
        out: dict[int, list[int]] = {}
        with self.session() as s:
            for cid, parent in s.execute(q):
                out.setdefault(parent, []).append(cid)
        return out

    def ancestor_ids(self, run_id: int, candidate_id: int) -> list[int]:
        """The candidate's parent, grandparent, ... up to the initial program, in one
        recursive query (a long run's best has thousands of generations)."""
        c = Candidate
        up = (select(c.parent_id.label("id"), c.id.label("child"), literal(1).label("depth"))
              .where(c.id == candidate_id, c.run_id == run_id).cte("up", recursive=True))
        step = (select(c.parent_id, c.id, up.c.depth + 1)
                .join(up, c.id == up.c.id).where(c.run_id == run_id))
        up = up.union_all(step)
        q = select(up.c.id).where(up.c.id.is_not(None)).order_by(up.c.depth)
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(q)]

    def island_stats(self, run_id: int) -> list[dict]:
        """Per island: candidates evaluated (duplicates aside), scored, best, mean."""
        c = Candidate
        q = (select(c.island, func.count(), func.count(c.score), func.max(c.score),
                    func.avg(c.score))
             .where(c.run_id == run_id, c.status != Status.DUPLICATE).group_by(c.island))
        with self.session() as s:
            rows = s.execute(q).all()
        return [{"island": i, "evaluated": n, "scored": k, "best": b, "mean": m}
                for i, n, k, b, m in rows]
