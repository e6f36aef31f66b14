"""Evaluation jobs for `adrs worker`s: a queue in the run's database (adrs.jobs has
the protocol; this is its SQL). A claim is atomic: `FOR UPDATE SKIP LOCKED` on
PostgreSQL; SQLite serialises writers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, text, update

from adrs.store.models import EvalJob, utcnow
from adrs.store.plain import EvalJobRow, plain
from adrs.store.records import JobStatus


class JobRows:
    """Store methods on the eval_jobs table."""

    def queue_job(self, run_id: int, seq: int, source: str, request: dict) -> int:
        """A queued job; its id."""
        return self._insert(EvalJob, run_id=run_id, seq=seq, source=source, request=request,
                            status=JobStatus.QUEUED, attempts=0)

    def next_job_seq(self, run_id: int) -> int:
        """Where a new controller's job numbering starts (after any earlier controller's)."""
        with self.session() as s:
            return (s.scalar(select(func.max(EvalJob.seq)).where(EvalJob.run_id == run_id))
                    or 0) + 1

    def claim_job(self, run_id: int, worker: str, lease: float) -> EvalJobRow | None:
        """Take the oldest queued job (or one whose worker was silent for `lease` s)."""
        stale = utcnow() - timedelta(seconds=lease)
        lock = " FOR UPDATE SKIP LOCKED" if self.engine.dialect.name == "postgresql" else ""
        with self.engine.begin() as conn:
            conn.execute(update(EvalJob).where(
                EvalJob.run_id == run_id,
                EvalJob.status.in_((JobStatus.CLAIMED, JobStatus.PROBED)),
                EvalJob.heartbeat_at < stale).values(status=JobStatus.QUEUED, decision=None,
                                                     probe=None))
            picked = conn.execute(text(
                "SELECT id FROM eval_jobs WHERE run_id = :r AND status = 'queued' "
                f"ORDER BY seq, id LIMIT 1{lock}"), {"r": run_id}).scalar()
            if picked is None:
                return None
            taken = conn.execute(update(EvalJob).where(
                EvalJob.id == picked, EvalJob.status == JobStatus.QUEUED).values(
                status=JobStatus.CLAIMED, worker=worker, heartbeat_at=utcnow(),
                attempts=EvalJob.attempts + 1))
            if taken.rowcount != 1:
                return None
        return self.job(picked)

    def job_heartbeat(self, job_id: int, worker: str) -> None:
        """The worker holding the job is alive."""
        with self.engine.begin() as conn:
            conn.execute(update(EvalJob).where(EvalJob.id == job_id, EvalJob.worker == worker)
                         .values(heartbeat_at=utcnow()))

    def set_job(self, job_id: int, worker: str | None = None, **values) -> bool:
        """Change a job not yet done (only if `worker` holds it, when given)."""
        q = update(EvalJob).where(EvalJob.id == job_id, EvalJob.status != JobStatus.DONE)
        if worker is not None:
            q = q.where(EvalJob.worker == worker)
        with self.engine.begin() as conn:
            return conn.execute(q.values(**values)).rowcount == 1

    def job(self, job_id: int) -> EvalJobRow:
        """One job as stored now."""
        with self.session() as s:
            return plain(s.get(EvalJob, job_id))
