"""Evaluations as Ray tasks: a local Ray by default, or a cluster (`--ray-address`).

As with the workers executor, every decision stays in the controller: each
evaluation waits in a local thread while its sandboxed runs happen in Ray tasks,
with the same sandbox limits, on whichever node Ray picks. The functional-hash
gate needs the controller between the probes and the full run, so a candidate
with probes takes two tasks: the probes, then (if no earlier candidate behaved
the same) the full evaluation. The archive is the same as a local run's.
"""

from __future__ import annotations

import socket
from dataclasses import replace

from adrs.errors import UserError
from adrs.executors.base import Executor
from adrs.sandbox import Outcome, run_candidate


def _sandboxed(source, entrypoint, cases_json, limits, deny, harness, preload, share,
               probes_json=None) -> Outcome:
    """The Ray task: one sandboxed run on a worker node. With probes, it stops right
    after them (exceptions on a probe are behaviour, as in a local run)."""
    return run_candidate(source, entrypoint, cases_json, limits, deny, probes_json, _stop,
                         harness, preload, share)


def _stop(outputs: list) -> bool:
    return False


def connect(address: str = ""):
    """Join the Ray cluster at `address` (or start a local Ray) once; returns the module.
    Called before a run is created, so a failure leaves nothing behind."""
    try:
        import ray
    except ImportError:
        raise UserError("the Ray executor needs Ray: pip install 'adrs[ray]'") from None
    if not ray.is_initialized():
        _reachable(address)
        try:
            ray.init(address=address or None, include_dashboard=False,
                     log_to_driver=False, configure_logging=False)
        except Exception as exc:  # Ray raises several kinds; all mean "not connected"
            raise UserError(_connect_hint(address, exc)) from None
    return ray


def _reachable(address: str) -> None:
    """Ray retries an unreachable HOST:PORT for minutes; a plain TCP connect fails fast."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or "://" in address:
        return  # "", "auto", "ray://...": left to Ray
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise UserError(_unreachable(f"the Ray cluster at {address}", exc.strerror or exc)
                        ) from None


def _connect_hint(address: str, exc: Exception) -> str:
    where = f"the Ray cluster at {address}" if address else "a local Ray"
    chain, e = [], exc
    while e is not None and len(chain) < 10:  # Ray wraps the auth error in others
        chain.append(f"{type(e).__name__} {e}")
        e = e.__cause__ or e.__context__
    if "authenticat" in " ".join(chain).lower():
        return (f"{where} wants its auth token: export RAY_AUTH_MODE=token here and copy "
                "the head node's ~/.ray/auth_token to this machine (or set RAY_AUTH_TOKEN)")
    return _unreachable(where, type(exc).__name__)


def _unreachable(where: str, why) -> str:
    return (f"cannot connect to {where} ({why}): start it with `ray start --head` or fix "
            "--ray-address (HOST:PORT)")


class RayExecutor(Executor):
    """Each sandboxed run is a Ray task (one CPU); the threads here only wait."""

    name = "adrs-ray"

    def __init__(self, address: str = "", in_flight: int = 64):
        self._ray = connect(address)
        self._task = self._ray.remote(num_cpus=1)(_sandboxed)
        super().__init__(in_flight)

    def runner(self):
        """Each sandboxed run is a Ray task; the hash gate is answered here."""
        return self._remote

    def _run(self, problem, source, limits, deny, probes_json=None) -> Outcome:
        ref = self._task.remote(source, problem.evaluator.entrypoint, problem.cases_json,
                                limits, deny, problem.harness, problem.preload, problem.share,
                                probes_json)
        return self._ray.get(ref)

    def _remote(self, problem, source, limits, deny_read, probe, on_probe) -> Outcome:
        if not probe or problem.probes_json is None:
            return self._run(problem, source, limits, deny_read)
        first = self._run(problem, source, limits, deny_read, problem.probes_json)
        if not first.stopped:  # it failed before its probes: that is the outcome
            return first
        if not on_probe(first.probe_outputs):
            return first
        full = self._run(problem, source, limits, deny_read)
        return replace(full, probe_outputs=first.probe_outputs,
                       probe_seconds=first.probe_seconds,
                       wall_seconds=full.wall_seconds + first.wall_seconds)
