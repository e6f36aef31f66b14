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
from dataclasses import replace
from datetime import datetime

from adrs.config import Limits
from adrs.errors import UserError
from adrs.sandbox import Outcome
from adrs.sandbox import decode_data as decode
from adrs.sandbox import encode_data as encode
from adrs.store import Store
from adrs.store.records import JobStatus

LEASE = 60.0  # seconds without a heartbeat before a job is given to another worker
POLL = 0.02  # seconds between looks at a job's row


def queue(store: Store, run_id: int, seq: int, source: str, limits: Limits,
          deny: tuple[str, ...], probe: bool, problem: str = "") -> int:
    """Queue one evaluation for `adrs worker`s; returns the job's id. `problem` is the
    digest of the controller's problem folder: a worker with other files refuses it."""
    request = {"limits": limits.__dict__, "deny_read": list(deny), "probe": probe,
               "problem": problem}
    return store.queue_job(run_id, seq, source, request)


# --- the controller's side ---


class Cancelled(Exception):
    """The controller is stopping: the job is withdrawn and redone on resume."""


def run_remotely(store: Store, run_id: int, seq: int, source: str, limits: Limits,
                 deny: tuple[str, ...], probe: bool, on_probe, stop, problem: str = "",
                 ) -> Outcome:
    """Queue a sandboxed run, answer its probe gate here, and wait for its outcome."""
    job = queue(store, run_id, seq, source, limits, deny, probe, problem)
    decided_at = None
    while True:
        if stop.is_set():
            store.set_job(job, status=JobStatus.DONE, decision="stop", outcome=None)
            raise Cancelled(f"job {job} withdrawn")
        row = store.job(job)
        if row.status == JobStatus.DONE:
            return replace(_outcome(row.outcome), node=row.worker or "")
        if row.status == JobStatus.PROBED and row.decision is None and row.probe != decided_at:
            decided_at = row.probe  # a re-queued job probes again: decide again
            go = on_probe([decode(o) for o in row.probe["outputs"]])
            store.set_job(job, decision="go" if go else "stop")
        time.sleep(POLL)


# --- the worker's side ---


def refuse_other_files(store: Store, job, worker: str, files) -> None:
    """A worker whose problem folder differs from the controller's, or changed since it
    started, gives the job back and stops: it would judge against other files."""
    try:
        files.check()
        theirs = job.request.get("problem") or files.digest
        if theirs != files.digest:
            raise UserError(
                f"worker {worker}: its problem folder {files.root} differs from the "
                f"controller's (files {files.digest[:12]} here, {theirs[:12]} there); give "
                "it the same files (same commit, or copy the folder) and start it again")
    except UserError:
        store.set_job(job.id, worker, status=JobStatus.QUEUED, decision=None, probe=None)
        raise


def post_probe(store: Store, job_id: int, worker: str, outputs: list) -> bool:
    """Report probe outputs; block until the controller says go (True) or stop."""
    store.set_job(job_id, worker, status=JobStatus.PROBED, decision=None,
                  probe={"outputs": [encode(o) for o in outputs], "at": datetime.now().isoformat()})
    while True:
        row = store.job(job_id)
        if row.worker != worker or row.status == JobStatus.DONE:
            return False  # the job was given to another worker
        if row.decision is not None:
            return row.decision == "go"
        time.sleep(POLL)


def finish(store: Store, job_id: int, worker: str, out: Outcome) -> bool:
    """Store a worker's outcome for its job; False if the job is no longer this worker's."""
    return store.set_job(job_id, worker, status=JobStatus.DONE, outcome=_outcome_json(out))


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
