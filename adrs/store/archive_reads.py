"""Reads for the archive API (adrs.archive): whole-run tables and lineage."""

from __future__ import annotations

from sqlalchemy import func, select

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
                    c.eval_seconds, LLMCall.model, LLMCall.cost, LLMCall.tokens_in,
                    LLMCall.tokens_out)
             .outerjoin(LLMCall, LLMCall.id == c.llm_call_id)
             .where(c.run_id == run_id).order_by(c.iteration))
        if ids is not None:
            q = q.where(c.id.in_(list(ids)))
        with self.session() as s:
            return [dict(zip(columns, row, strict=True)) for row in s.execute(q)]

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

    def parent_of(self, run_id: int, candidate_id: int) -> int | None:
        """One primary-key lookup: the candidate's parent id (None for the initial)."""
        q = select(Candidate.parent_id).where(Candidate.id == candidate_id,
                                              Candidate.run_id == run_id)
        with self.session() as s:
            return s.execute(q).scalar()

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
