"""Candidates: the per-iteration writes and indexed reads, and whole-run reads
(history for start-up and resume, summary for reports)."""

from __future__ import annotations

from sqlalchemy import Integer, bindparam, delete, func, select
from sqlalchemy.orm import aliased

from adrs.store.models import Candidate, LLMCall
from adrs.store.plain import CandidateRow, plain
from adrs.store.records import CandidateRecord, HistoryRow, OutcomeRow, Sample, Status

# built once: a statement object built per call costs more than the query itself
_PARENT_FIELDS = select(Candidate.source, Candidate.score, Candidate.metrics,
                        Candidate.artifacts).where(
    Candidate.id == bindparam("id"))


class CandidateRows:
    """Store methods on the candidates table."""

    def add_candidate(self, run_id: int, rec: CandidateRecord) -> int:
        """Store one candidate; its id (ids follow recording order, not iterations)."""
        return self._insert(Candidate, run_id=run_id, **rec.__dict__)

    def fold_score_sample(self, sample_id: int) -> tuple[int, float] | None:
        """Fold a pending score sample (a noisy problem's re-evaluated duplicate) into
        its original's running mean, once: (original id, new mean), or None if it was
        folded before (a resume reveals it again)."""
        with self.session() as s, s.begin():
            sample = s.get(Candidate, sample_id)
            if sample.score_sample != Sample.PENDING:
                return None
            row = s.get(Candidate, sample.duplicate_of)
            metrics = dict(row.metrics or {})
            n = int(metrics.get("score_samples", 1))
            row.score = (row.score * n + sample.score) / (n + 1)
            row.metrics = {**metrics, "score_samples": n + 1}
            sample.score_sample = Sample.FOLDED
            return row.id, row.score

    def get_candidate(self, candidate_id: int) -> CandidateRow | None:
        """One candidate by id, or None."""
        with self.session() as s:
            return plain(s.get(Candidate, candidate_id))

    def parent_fields(self, candidate_id: int) -> tuple[str, float, dict, dict | None]:
        """(source, score, metrics, artifacts) of a candidate: what a mutation needs of
        its parent."""
        with self.engine.connect() as conn:
            return tuple(conn.execute(_PARENT_FIELDS, {"id": candidate_id}).one())

    def best(self, run_id: int, n: int = 1) -> list[CandidateRow]:
        """The n best scored candidates, ties to the earliest."""
        with self.session() as s:
            q = (select(Candidate).where(Candidate.run_id == run_id, Candidate.status == Status.OK)
                 .order_by(Candidate.score.desc(), Candidate.iteration).limit(n))
            return [plain(c) for c in s.scalars(q)]

    def forget_failed_initial(self, run_id: int) -> bool:
        """Delete a failed initial program when it is the run's only candidate, so a
        resume evaluates the fixed one. True if it was deleted."""
        with self.engine.begin() as conn:
            count = conn.scalar(select(func.count()).select_from(Candidate)
                                .where(Candidate.run_id == run_id))
            if count != 1:
                return False
            gone = conn.execute(delete(Candidate).where(
                Candidate.run_id == run_id, Candidate.iteration == 0,
                Candidate.status != Status.OK))
            return gone.rowcount == 1

    def initial(self, run_id: int) -> CandidateRow | None:
        """The run's initial program (iteration 0), once evaluated."""
        with self.session() as s:
            q = select(Candidate).where(Candidate.run_id == run_id, Candidate.iteration == 0)
            return plain(s.scalars(q).first())

    def history(self, run_id: int) -> list[HistoryRow]:
        """What the loop needs to rebuild its state on resume, in iteration order."""
        with self.session() as s:
            q = (select(Candidate.iteration, Candidate.id, Candidate.status, Candidate.score,
                        Candidate.generation, Candidate.parent_id, Candidate.syntactic_hash,
                        Candidate.functional_hash, Candidate.failure, Candidate.error,
                        Candidate.mutation, LLMCall.model, func.coalesce(LLMCall.cost, 0.0),
                        Candidate.island, Candidate.metrics, func.length(Candidate.source),
                        Candidate.duplicate_of, Candidate.score_sample,
                        Candidate.prompt_variant_id)
                 .outerjoin(LLMCall, LLMCall.id == Candidate.llm_call_id)
                 .where(Candidate.run_id == run_id).order_by(Candidate.iteration))
            return [HistoryRow(*row) for row in s.execute(q)]

    def outcomes(self, run_id: int) -> list[OutcomeRow]:
        """Every candidate's outcome and description (what per-edit and per-variant
        tables count), lighter than `history`: no metrics to decode."""
        with self.session() as s:
            q = (select(Candidate.id, Candidate.parent_id, Candidate.status, Candidate.score,
                        Candidate.mutation, Candidate.prompt_variant_id,
                        func.coalesce(LLMCall.cost, 0.0))
                 .outerjoin(LLMCall, LLMCall.id == Candidate.llm_call_id)
                 .where(Candidate.run_id == run_id))
            return [OutcomeRow(*row) for row in s.execute(q)]

    def work_per_node(self, run_id: int) -> dict[str, dict]:
        """Per node (Ray) or worker that ran sandboxes: evaluations, failed ones, seconds."""
        with self.session() as s:
            rows = s.execute(
                select(Candidate.evaluated_on, func.count(),
                       func.sum(func.cast(Candidate.status == Status.FAILED, Integer)),
                       func.coalesce(func.sum(Candidate.eval_seconds), 0.0))
                .where(Candidate.run_id == run_id, Candidate.evaluated_on.is_not(None))
                .group_by(Candidate.evaluated_on)).all()
        return {node: {"evaluations": n, "failed": int(failed or 0), "seconds": float(sec)}
                for node, n, failed, sec in sorted(rows)}

    def summary(self, run_id: int) -> dict:
        """Counts by status, failure reason and duplicate kind; time spent and saved."""
        original = aliased(Candidate)
        with self.session() as s:
            by = s.execute(select(Candidate.status, Candidate.failure, Candidate.duplicate_kind,
                                  func.count(),
                                  func.coalesce(func.sum(Candidate.eval_seconds), 0.0),
                                  func.coalesce(func.sum(Candidate.probe_seconds), 0.0))
                           .where(Candidate.run_id == run_id)
                           .group_by(Candidate.status, Candidate.failure,
                                     Candidate.duplicate_kind)).all()
            saved = s.scalar(
                select(func.coalesce(func.sum(original.eval_seconds - Candidate.eval_seconds),
                                     0.0))
                .select_from(Candidate)
                .join(original, original.id == Candidate.duplicate_of)
                .where(Candidate.run_id == run_id, Candidate.status == Status.DUPLICATE))
        status: dict[str, int] = {}
        failures: dict[str, int] = {}
        duplicates: dict[str, int] = {}
        for st, failure, kind, n, _, _ in by:
            status[st] = status.get(st, 0) + n
            if failure and st == "failed":
                failures[failure] = failures.get(failure, 0) + n
            if st == "duplicate":
                duplicates[kind or "syntactic"] = duplicates.get(kind or "syntactic", 0) + n
        return {"candidates": sum(status.values()), "by_status": status,
                "failures": failures, "duplicates": duplicates,
                "eval_seconds": float(sum(row[4] for row in by)),
                "probe_seconds": float(sum(row[5] for row in by)),
                # what each duplicate's original cost, less what the duplicate spent probing
                "eval_seconds_saved": max(0.0, float(saved))}
