"""The controller: one iteration, top to bottom, one call per stage (adrs.stages).

    reveal what iteration i may see (schedule) -> select a parent (search)
      -> mutate (mutate) -> hash, evaluate in the sandbox, record (pipeline)

Reproducibility: iteration i draws from its own generator seeded with
(seed, i) and sees only results of iterations <= i - in_flight. Which results
are visible therefore never depends on timing or worker count, so the same
seed and config give the same candidates, and a resumed run continues the
same sequence.
"""

from __future__ import annotations

import time

import numpy as np

from adrs.controller_lease import ControllerLease
from adrs.executors import Executor, make_executor
from adrs.mutate import MutationRequest, Mutator, make_mutator
from adrs.run_context import RunContext
from adrs.search.state import SearchState
from adrs.stages import startup
from adrs.stages.budget import Budget
from adrs.stages.calls import CallLog
from adrs.stages.duplicates import Duplicates
from adrs.stages.outage import Outage
from adrs.stages.parents import ParentCache
from adrs.stages.pipeline import Pipeline
from adrs.stages.progress import Progress
from adrs.stages.schedule import Schedule
from adrs.store.records import RunStatus


class Search:
    """One run's controller: its stages, wired; `run()` runs the search."""

    def __init__(self, ctx: RunContext, mutator: Mutator | None = None,
                 executor: Executor | None = None, progress: bool = True):
        self.ctx, self.cfg = ctx, ctx.config
        cfg, run = ctx.config, ctx.run
        self.mutator = _checked(mutator or make_mutator(cfg.mutator, ctx.problem.root, ctx.store),
                                Mutator, "a mutator: subclass adrs.mutate.Mutator (it needs "
                                "only mutate())")
        self.mutator.threads = max(1, cfg.mutator.concurrency)
        if cfg.mutator.tune_probability > 0:
            from adrs.tuning import TuningMutator

            self.mutator = TuningMutator(self.mutator, ctx)
        self.executor = _checked(executor or make_executor(ctx), Executor,
                                 "an executor: subclass adrs.executors.Executor")
        self.state = SearchState(cfg.search)
        self.budget = Budget(cfg.max_cost, cfg.max_tokens, cfg.search.in_flight)
        self.calls = CallLog(ctx.store, run.id, self.budget)
        self.dups = Duplicates(cfg.hashing.syntactic)
        self.outage = Outage(cfg.mutator.base_url, cfg.mutator.give_up_seconds)
        self.schedule = Schedule(ctx.store, run.id, self.state, self.mutator,
                                 cfg.mutator.recent_failures)
        self.progress = Progress(run.name, run.iterations, progress)
        self.pipeline = Pipeline(ctx, self.executor, self.dups, self.calls, self.outage,
                                 self.schedule, self.progress)
        self.parents = ParentCache(ctx.store, ctx.problem.volatile_metrics,
                                   4 * cfg.search.elite_pool)
        self.stop_reason: str | None = None
        self.resume_hint = (f"raise it and continue with: adrs resume {run.name} "
                            "--max-cost/--max-tokens ...")

    def run(self) -> None:
        """The search, as this run's only controller (a live one elsewhere is refused)."""
        with ControllerLease(self.ctx.store, self.ctx.run):
            self._run()

    def _run(self) -> None:
        started, run, status = time.monotonic(), self.ctx.run, RunStatus.INTERRUPTED
        try:
            startup.restore(self)
            startup.ensure_initial(self)
            startup.ensure_baselines(self)
            todo = [i for i in range(1, run.iterations + 1) if i not in self.pipeline.done]
            with self.progress.bar(run.iterations - len(todo)):
                for i in todo:
                    if self._stopping(i):
                        break
                    self._step(i)
                self.pipeline.drain(until=run.iterations)
            self.schedule.settle()
            self._outage_stop(self.outage.lost > 0)  # lost iterations are redone on resume
            status = RunStatus.STOPPED if self.stop_reason else RunStatus.FINISHED
        except BaseException as exc:
            self.mutator.close(cancel=True)
            self.pipeline.stop()
            if not isinstance(exc, KeyboardInterrupt):
                self._finish(status, started)
                raise
        self._finish(status, started)

    def _step(self, i: int) -> None:
        """Generate child i once every result it may see has been recorded."""
        lag = i - self.cfg.search.in_flight
        self.pipeline.drain(until=lag)
        self.schedule.reveal(upto=max(lag, 0))
        rng = np.random.default_rng([self.cfg.seed, i])
        parent, others = self.state.select(i, rng)
        request = MutationRequest(self.ctx.problem.description, self.parents.get(parent),
                                  tuple(self.parents.get(o) for o in others),
                                  tuple(self.schedule.failures), i, self.ctx.problem.language)
        future = self.mutator.submit(request, rng)  # choices now, in order; the wait its own
        future.add_done_callback(lambda f, i=i: f.exception() or self.calls.stored(i, f.result()))
        self.pipeline.push(i, parent, future)

    def _stopping(self, i: int) -> bool:
        """True (with a reason) if starting iteration i would overrun a budget, or the
        model endpoint stayed unreachable too long."""
        self._outage_stop(self.outage.gave_up)
        if self.stop_reason is None and self.budget.limited:
            self.pipeline.drain(until=i - self.cfg.search.in_flight)  # bills are in order
            self.stop_reason = self.budget.exceeded(i)
        return self.stop_reason is not None

    def _outage_stop(self, stop: bool) -> None:
        if stop and self.stop_reason is None:
            self.stop_reason = self.outage.reason()
            self.resume_hint = ("when it answers again, continue with: "
                                f"adrs resume {self.ctx.run.name}")

    def _finish(self, status: RunStatus, started: float) -> None:
        self.mutator.close()
        self.executor.shutdown()
        elapsed = self.ctx.run.elapsed_seconds + time.monotonic() - started
        self.ctx.store.update_run(self.ctx.run.id, status=status, elapsed_seconds=elapsed)
        self.ctx.run = self.ctx.store.get_run(self.ctx.run.name)


def _checked(obj, base: type, fix: str):
    if not isinstance(obj, base):
        raise TypeError(f"{type(obj).__name__} is not {fix}")
    return obj
