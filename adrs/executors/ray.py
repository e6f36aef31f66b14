"""Evaluations as Ray tasks: a local Ray by default, or a cluster (`--ray-address`).

As with the workers executor, every decision stays in the controller: each
evaluation waits in a local thread while its sandboxed runs happen in Ray tasks,
with the same sandbox limits, on whichever node Ray picks. The functional-hash
gate needs the controller between the probes and the full run, so a candidate
with probes takes two tasks: the probes, then (if no earlier candidate behaved
the same) the full evaluation. The archive is the same as a local run's.

On a cluster:
- the problem folder travels as a package in Ray's object store, put there once
  by the controller (adrs/problem_files.py); a node unpacks it once and binds it
  into the sandbox at the controller's path, so nodes need no copy of their own;
- a node that dies takes its running tasks with it: the executor says so and
  submits each again (up to `RETRIES` times), and Ray places it on a live node; as
  each task is one sandboxed run whose result only the controller records, and
  every LLM call happens in the controller, nothing is lost, recorded or paid twice;
- each worker process checks its node's confinement before its first task and
  refuses clearly (no sandbox, or fewer cgroup controllers than the controller's).
"""

from __future__ import annotations

import functools
import socket
import sys
from dataclasses import replace

from adrs import __version__
from adrs.errors import UserError
from adrs.executors.base import Executor
from adrs.problem_files import problem_files, unpacked
from adrs.sandbox import Outcome, run_candidate

RETRIES = 5  # new tries of a sandboxed run lost with its node, before the run stops


def _sandboxed(source, entrypoint, cases_json, limits, deny, harness, preload, folder,
               controller, probes_json=None) -> Outcome:
    """The Ray task: one sandboxed run on a worker node. With probes, it stops right
    after them (exceptions on a probe are behaviour, as in a local run). `folder` is
    (the problem's path on the controller, its digest, [its package's object ref]);
    `controller` is (its adrs version, its cgroup controllers)."""
    node = _node_ready(limits.mode, controller[0], tuple(controller[1]))
    root, digest, (package,) = folder
    share = ((root, _unpacked(digest, package)),)
    out = run_candidate(source, entrypoint, cases_json, limits, deny, probes_json, _stop,
                        harness, preload, share)
    return replace(out, node=node)


@functools.lru_cache(maxsize=8)
def _unpacked(digest: str, package_ref) -> str:
    import ray

    return unpacked(digest, ray.get(package_ref))


@functools.lru_cache(maxsize=4)
def _node_ready(mode: str, version: str, controller_cgroups: tuple[str, ...]) -> str:
    """This node's name, once it runs the controller's adrs (bundled problems and the
    sandbox come with it) and its sandbox is known to be as strong as the controller's."""
    import ray

    from adrs import __version__
    from adrs.sandbox import layers

    node = f"{socket.gethostname()}:{ray.get_runtime_context().get_node_id()[:8]}"
    if version != __version__:
        raise UserError(f"node {node} runs adrs {__version__}, the controller {version}: "
                        f"install the same on every node (pip install 'adrs[ray]=={version}')")
    try:
        mine = layers(mode)
    except UserError as exc:
        raise UserError(f"node {node} cannot sandbox candidates: {exc}") from None
    missing = sorted(set(controller_cgroups) - set(mine.cgroups.names()))
    if missing:
        raise UserError(f"node {node} has no cgroup controller for {', '.join(missing)} "
                        "(the controller has): its limits and CPU times would differ; give "
                        "its user a delegated cgroup (see docs/cluster.md) or take it out")
    return node


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


@functools.lru_cache(maxsize=4)
def _cgroups(mode: str) -> tuple[str, ...]:
    from adrs.sandbox import layers

    return tuple(layers(mode).cgroups.names())


class RayExecutor(Executor):
    """Each sandboxed run is a Ray task (one CPU); the threads here only wait."""

    name = "adrs-ray"

    def __init__(self, address: str = "", in_flight: int = 64):
        self._ray = connect(address)
        # retried here, not by Ray, so that a lost node is reported as it happens
        self._task = self._ray.remote(num_cpus=1, max_retries=0)(_sandboxed)
        self._packages: dict[str, object] = {}  # digest -> the package's object ref
        super().__init__(in_flight)

    def _folder(self, problem, deny) -> tuple:
        """The problem folder as tasks get it; its package is put in Ray once."""
        files = problem_files(problem, deny)
        if files.digest not in self._packages:
            self._packages[files.digest] = self._ray.put(files.package)
        return str(problem.root), files.digest, [self._packages[files.digest]]

    def runner(self):
        """Each sandboxed run is a Ray task; the hash gate is answered here."""
        return self._remote

    def _run(self, problem, source, limits, deny, probes_json=None) -> Outcome:
        args = (source, problem.evaluator.entrypoint, problem.cases_json, limits, deny,
                problem.harness, problem.preload, self._folder(problem, deny),
                (__version__, _cgroups(limits.mode)), probes_json)
        errors = self._ray.exceptions
        for attempt in range(RETRIES + 1):
            try:
                return self._ray.get(self._task.remote(*args))
            except errors.RayTaskError as exc:  # a node's refusal: say it plainly
                if isinstance(exc.cause, UserError):
                    raise UserError(str(exc.cause)) from None
                raise
            except errors.RayError as exc:  # its worker or node died under it
                why = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
                if attempt == RETRIES:
                    raise UserError(f"an evaluation was lost {RETRIES + 1} times with the "
                                    f"node running it ({why}); check the cluster's nodes "
                                    "(`ray status`)") from None
                print(f"adrs: an evaluation was lost with its node ({type(exc).__name__}: "
                      f"{why}); running it again (try {attempt + 2} of {RETRIES + 1})",
                      file=sys.stderr, flush=True)

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
