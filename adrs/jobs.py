"""Evaluation jobs in the run's database: how `adrs worker` processes share the work.

The controller keeps every decision (selection, hashing, the functional-hash
gate, recording), so a run with workers builds the same archive as a local
one. Only sandboxed runs move: the controller queues a job; a worker claims it
atomically (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite serialises writers),
runs the sandbox on its own machine, posts the probe outputs and waits for the
controller's go/stop, then posts the outcome. Workers heartbeat; a job whose
worker stopped heartbeating for `LEASE` seconds goes back to the queue, and an
outcome is accepted once, from the worker holding the job.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from sqlalchemy import func, select, text, update

from adrs.box.codec import decode, encode
from adrs.sandbox import Limits, Outcome
from adrs.store import Store
from adrs.store.models import EvalJob, utcnow

LEASE = 60.0  # seconds without a heartbeat before a job is given to another worker
POLL = 0.02  # seconds between looks at a job's row


def queue(store: Store, run_id: int, seq: int, source: str, limits: Limits,
          deny: tuple[str, ...], probe: bool) -> int:
    request = {"limits": limits.__dict__, "deny_read": list(deny), "probe": probe}
    return store._insert(EvalJob, run_id=run_id, seq=seq, source=source, request=request,
                         status="queued", attempts=0)


def next_seq(store: Store, run_id: int) -> int:
    """Where a new controller's job numbering starts (after any earlier controller's)."""
    with store.session() as s:
        return (s.scalar(select(func.max(EvalJob.seq)).where(EvalJob.run_id == run_id))
                or 0) + 1


def claim(store: Store, run_id: int, worker: str, lease: float = LEASE) -> EvalJob | None:
    """Take the oldest queued job (or one whose worker went silent), atomically."""
    stale = utcnow() - timedelta(seconds=lease)
    lock = " FOR UPDATE SKIP LOCKED" if store.engine.dialect.name == "postgresql" else ""
    with store.engine.begin() as conn:
        conn.execute(update(EvalJob).where(
            EvalJob.run_id == run_id, EvalJob.status.in_(("claimed", "probed")),
            EvalJob.heartbeat_at < stale).values(status="queued", decision=None, probe=None))
        picked = conn.execute(text(
            "SELECT id FROM eval_jobs WHERE run_id = :r AND status = 'queued' "
            f"ORDER BY seq, id LIMIT 1{lock}"), {"r": run_id}).scalar()
        if picked is None:
            return None
        taken = conn.execute(update(EvalJob).where(
            EvalJob.id == picked, EvalJob.status == "queued").values(
            status="claimed", worker=worker, heartbeat_at=utcnow(),
            attempts=EvalJob.attempts + 1))
        if taken.rowcount != 1:
            return None
    with store.session() as s:
        return s.get(EvalJob, picked)


def heartbeat(store: Store, job_id: int, worker: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(update(EvalJob).where(EvalJob.id == job_id, EvalJob.worker == worker)
                     .values(heartbeat_at=utcnow()))


def _set(store: Store, job_id: int, worker: str | None = None, **values) -> bool:
    q = update(EvalJob).where(EvalJob.id == job_id, EvalJob.status != "done")
    if worker is not None:
        q = q.where(EvalJob.worker == worker)
    with store.engine.begin() as conn:
        return conn.execute(q.values(**values)).rowcount == 1


def _row(store: Store, job_id: int) -> EvalJob:
    with store.session() as s:
        return s.scalars(select(EvalJob).where(EvalJob.id == job_id)).one()


# --- the controller's side ---


class Cancelled(Exception):
    """The controller is stopping: the job is withdrawn and redone on resume."""


def run_remotely(store: Store, run_id: int, seq: int, source: str, limits: Limits,
                 deny: tuple[str, ...], probe: bool, on_probe, stop) -> Outcome:
    """Queue a sandboxed run, answer its probe gate here, and wait for its outcome."""
    job = queue(store, run_id, seq, source, limits, deny, probe)
    decided_at = None
    while True:
        if stop.is_set():
            _set(store, job, status="done", decision="stop", outcome=None)
            raise Cancelled(f"job {job} withdrawn")
        row = _row(store, job)
        if row.status == "done":
            return _outcome(row.outcome)
        if row.status == "probed" and row.decision is None and row.probe != decided_at:
            decided_at = row.probe  # a re-queued job probes again: decide again
            go = on_probe([decode(o) for o in row.probe["outputs"]])
            _set(store, job, decision="go" if go else "stop")
        time.sleep(POLL)


# --- the worker's side ---


def post_probe(store: Store, job_id: int, worker: str, outputs: list) -> bool:
    """Report probe outputs; block until the controller says go (True) or stop."""
    _set(store, job_id, worker, status="probed", decision=None,
         probe={"outputs": [encode(o) for o in outputs], "at": datetime.now().isoformat()})
    while True:
        row = _row(store, job_id)
        if row.worker != worker or row.status == "done":
            return False  # the job was given to another worker
        if row.decision is not None:
            return row.decision == "go"
        time.sleep(POLL)


def finish(store: Store, job_id: int, worker: str, out: Outcome) -> bool:
    return _set(store, job_id, worker, status="done", outcome=_outcome_json(out))


def _outcome_json(out: Outcome) -> dict:
    return {"ok": out.ok, "outputs": None if out.outputs is None else
            [encode(o) for o in out.outputs], "seconds": out.seconds,
            "failure": out.failure, "error": out.error, "wall_seconds": out.wall_seconds,
            "probe_seconds": out.probe_seconds, "stopped": out.stopped,
            "cpu_seconds": out.cpu_seconds, "log": out.log}


def _outcome(data: dict) -> Outcome:
    outputs = None if data["outputs"] is None else [decode(o) for o in data["outputs"]]
    return Outcome(data["ok"], outputs, data["seconds"], data["failure"], data["error"],
                   data["wall_seconds"], None, data["probe_seconds"], data["stopped"],
                   data.get("cpu_seconds"), data.get("log", ""))
