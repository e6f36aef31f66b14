"""Evaluations served by `adrs worker` processes through the run's database.

Each submitted evaluation runs here in a waiting thread, exactly as with the
local pool, except that its sandboxed run is queued for a worker (see
adrs/jobs.py); the functional-hash gate is still answered in this process, so
the archive is the same as a local run's.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from functools import partial

from adrs import jobs
from adrs.executors.base import Executor
from adrs.problem_files import problem_files
from adrs.store import Store


class WorkersExecutor(Executor):
    """Each sandboxed run is a job in the database, numbered in submission order."""

    name = "adrs-job"

    def __init__(self, store: Store, run_id: int, in_flight: int = 64):
        self.store, self.run_id = store, run_id
        self._seq = itertools.count(store.next_job_seq(run_id))
        self._stop = threading.Event()
        super().__init__(in_flight)

    def runner(self):
        """Each sandboxed run is a queued job, numbered in submission order."""
        return partial(self._remote, next(self._seq))

    def _remote(self, seq, problem, source, limits, deny_read, probe, on_probe):
        return jobs.run_remotely(self.store, self.run_id, seq, source, limits, deny_read,
                                 probe and problem.probes_json is not None, on_probe,
                                 self._stop, problem_files(problem, deny_read).digest)

    def shutdown(self, cancel: bool = False) -> None:
        """As Executor's; `cancel` also withdraws the jobs no worker has finished."""
        if cancel:  # withdraw what is still waiting for a worker (redone on resume)
            self._stop.set()
        super().shutdown(cancel)

def worker_loop(store: Store, run, problem, name: str, idle_exit: float,
                say: Callable[[str], None] = print, lease: float = jobs.LEASE,
                sandbox: dict | None = None) -> int:
    """Serve the run's evaluation jobs until it is over (or idle for `idle_exit` s).

    Each job carries its controller's limits; `sandbox` ([sandbox] keys this worker's
    own configuration sets: its --sandbox, ADRS_SANDBOX, ADRS_WARM) goes over them, as
    the machine that evaluates is the one that knows its confinement."""
    import time
    from dataclasses import replace

    from adrs.config import Limits
    from adrs.sandbox import run_candidate

    done, idle_since = 0, time.monotonic()
    while True:
        job = store.claim_job(run.id, name, lease)
        if job is None:
            status = store.get_run(run.name).status  # interrupted: a resume may follow
            if status in ("finished", "stopped") or time.monotonic() - idle_since > idle_exit:
                say(f"worker {name}: {done} evaluations; run is {status}, stopping")
                return done
            time.sleep(0.05)
            continue
        req = job.request
        jobs.refuse_other_files(store, job, name,
                                problem_files(problem, req["deny_read"]))
        beat = threading.Event()
        pulse = threading.Thread(target=_pulse, args=(store, job.id, name, beat), daemon=True)
        pulse.start()
        try:
            gate = partial(jobs.post_probe, store, job.id, name)
            out = run_candidate(job.source, problem.evaluator.entrypoint, problem.cases_json,
                                replace(Limits(**req["limits"]), **(sandbox or {})),
                                tuple(req["deny_read"]),
                                problem.probes_json if req["probe"] else None,
                                gate, problem.harness, problem.preload, problem.share)
        finally:
            beat.set()
        jobs.finish(store, job.id, name, out)
        done += 1
        idle_since = time.monotonic()


def _pulse(store, job_id, name, stop) -> None:
    while not stop.wait(1.0):
        store.job_heartbeat(job_id, name)
