"""Reads for the archive API (adrs.archive): whole-run tables and lineage, and the
read-only engine a notebook opens an archive with."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, event, func, select
from sqlalchemy.engine import make_url

from adrs.errors import UserError
from adrs.store.models import Candidate, LLMCall
from adrs.store.records import Status


def read_only_engine(where: str | Path, db_file: str):
    """An engine that cannot write: SQLite opened mode=ro (WAL lets it read while a
    search writes), PostgreSQL with read-only transactions."""
    path = Path(where)
    if path.is_dir():
        path = path / db_file
    if path.is_file():
        engine = create_engine(f"sqlite:///file:{path.resolve()}?mode=ro&uri=true")
        event.listen(engine, "connect", lambda conn, _: conn.execute("PRAGMA query_only=ON"))
        return engine
    if "://" not in str(where):
        raise UserError(f"no archive at {where}; pass a run folder, an adrs.db file or a "
                        "database URL")
    url = make_url(str(where))
    if url.get_backend_name() == "postgresql":  # every transaction read-only, server-side
        return create_engine(url, connect_args={"options": "-c default_transaction_read_only=on"})
    return create_engine(url)


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
