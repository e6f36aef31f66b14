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

import functools
import time

import numpy as np

from adrs.controller_lease import ControllerLease
from adrs.executors import Executor, make_executor
from adrs.mutate import MutationRequest, Mutator, make_mutator
from adrs.prompt_evolution import meta_asker
from adrs.run_context import RunContext
from adrs.stages import startup
from adrs.stages.bundle import Stages
from adrs.stages.duplicates import Again
from adrs.stages.pipeline import Pipeline
from adrs.store.records import RunStatus


class Search:
    """One run's controller: its stages, wired; `run()` runs the search."""

    def __init__(self, ctx: RunContext, mutator: Mutator | None = None,
                 executor: Executor | None = None, progress: bool = True):
        self.ctx, self.cfg = ctx, ctx.config
        cfg = ctx.config
        self.mutator = _instance_of(
            mutator or make_mutator(cfg.mutator, ctx.problem.root, ctx.store,
                                    ctx.problem.baseline_sources()), Mutator,
            "a mutator: subclass adrs.mutate.Mutator (it needs only mutate())")
        self.mutator.threads = max(1, cfg.mutator.concurrency)
        self.asker, self.meta_model = meta_asker(self.mutator, cfg)
        if cfg.mutator.tune_probability > 0:
            from adrs.tuning import TuningMutator

            self.mutator = TuningMutator(self.mutator, ctx)
        self.executor = _instance_of(executor or make_executor(ctx), Executor,
                                     "an executor: subclass adrs.executors.Executor")
        self.stages = Stages.for_run(ctx, self.mutator, progress, self.asker is not None)
        self.state, self.budget, self.schedule = (self.stages.state, self.stages.budget,
                                                  self.stages.schedule)
        self.pipeline = Pipeline(ctx, self.executor, self.stages)
        self.stop_reason: str | None = None
        self.resume_hint = (f"raise it and continue with: adrs resume {ctx.run.name} "
                            "--max-cost/--max-tokens ...")

    def run(self) -> None:
        """The search, as this run's only controller (a live one elsewhere is refused)."""
        with ControllerLease(self.ctx.store, self.ctx.run):
            self._run()

    def _run(self) -> None:
        started, run, status = time.monotonic(), self.ctx.run, RunStatus.INTERRUPTED
        try:
            self._start()
            todo = [i for i in range(1, run.iterations + 1) if i not in self.pipeline.done]
            with self.stages.progress.bar(run.iterations - len(todo)):
                for i in todo:
                    if self._stopping(i):
                        break
                    self._step(i)
                self.pipeline.drain(until=run.iterations)
            self.schedule.settle()
            self._outage_stop(self.stages.outage.lost > 0)  # lost iterations are redone on resume
            status = RunStatus.STOPPED if self.stop_reason else RunStatus.FINISHED
        except BaseException as exc:
            self.mutator.close(cancel=True)
            self.pipeline.stop()
            if not isinstance(exc, KeyboardInterrupt):
                self._finish(status, started)
                raise
        self._finish(status, started)

    def _start(self) -> None:
        """The stages filled in from the store; the initial program and baselines scored."""
        self.pipeline.resume(startup.restore(self.ctx, self.stages, self.mutator))
        startup.ensure_initial(self.ctx, self.pipeline)
        seeded = self.cfg.start_from == "baselines"
        baselines = (startup.seed_baselines if seeded else startup.score_baselines)(
            self.ctx, self.pipeline)
        if baselines and not self.ctx.run.baselines:
            self.ctx.update_run(baselines=baselines)

    def _step(self, i: int) -> None:
        """Generate child i once every result it may see has been recorded."""
        lag = i - self.cfg.search.in_flight
        self.pipeline.drain(until=lag)
        self.schedule.reveal(upto=max(lag, 0))
        rng = np.random.default_rng([self.cfg.seed, i])
        parent, others = self.state.select(i, rng)
        parents = self.stages.parents
        request = MutationRequest(self.ctx.problem.description, parents.get(parent),
                                  tuple(parents.get(o) for o in others),
                                  tuple(self.schedule.failures), i, self.ctx.problem.language,
                                  self._guidance(i))
        future = self.mutator.submit(request, rng)  # choices now, in order; the wait its own
        calls = self.stages.calls
        future.add_done_callback(lambda f, i=i: f.exception() or calls.stored(i, f.result()))
        again = None
        if self.mutator.repeat_retries and not self.mutator.waits_on_io:
            again = Again(functools.partial(self.mutator.mutate, request, rng),
                          self.mutator.repeat_retries)
        self.pipeline.push(i, parent, future, again)

    def _guidance(self, i: int):
        """Evolving prompts: the variant and notes for iteration i (None: fixed prompts)."""
        prompts = self.stages.prompts
        return prompts and prompts.before(i, self.state.island_for(i), self.asker,
                                          self.meta_model, self.ctx.problem.description)

    def _stopping(self, i: int) -> bool:
        """True (with a reason) if starting iteration i would overrun a budget, or the
        model endpoint stayed unreachable too long."""
        self._outage_stop(self.stages.outage.gave_up)
        if self.stop_reason is None and self.budget.limited:
            self.pipeline.drain(until=i - self.cfg.search.in_flight)  # bills are in order
            self.stop_reason = self.budget.exceeded(i)
        return self.stop_reason is not None

    def _outage_stop(self, stop: bool) -> None:
        if stop and self.stop_reason is None:
            self.stop_reason = self.stages.outage.reason()
            self.resume_hint = ("when it answers again, continue with: "
                                f"adrs resume {self.ctx.run.name}")

    def _finish(self, status: RunStatus, started: float) -> None:
        self.mutator.close()
        self.executor.shutdown()
        elapsed = self.ctx.run.elapsed_seconds + time.monotonic() - started
        self.ctx.update_run(status=status, elapsed_seconds=elapsed)


def _instance_of(obj, base: type, fix: str):
    if not isinstance(obj, base):
        raise TypeError(f"{type(obj).__name__} is not {fix}")
    return obj
