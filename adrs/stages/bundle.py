"""The stages one controller is made of, typed and built together from its run.

adrs.loop builds one `Stages` per run and hands it (never the controller itself)
to the pipeline and to startup, so no stage can reach into the controller.
"""

from __future__ import annotations

from dataclasses import dataclass

from adrs.mutate import Mutator
from adrs.prompt_evolution import PromptEvolution
from adrs.run_context import RunContext
from adrs.search.state import SearchState
from adrs.stages.budget import Budget
from adrs.stages.calls import CallLog
from adrs.stages.duplicates import Duplicates
from adrs.stages.outage import Outage
from adrs.stages.parents import ParentCache
from adrs.stages.progress import Progress
from adrs.stages.schedule import Schedule


@dataclass(frozen=True)
class Stages:
    """The controller's stages but the pipeline (which is built from these)."""

    state: SearchState
    budget: Budget
    calls: CallLog
    dups: Duplicates
    outage: Outage
    schedule: Schedule
    progress: Progress
    parents: ParentCache
    prompts: PromptEvolution | None = None  # [prompts] evolve: variants, notes, meta step

    @classmethod
    def for_run(cls, ctx: RunContext, mutator: Mutator, progress: bool,
                evolve: bool = False) -> Stages:
        """Every stage of a fresh controller of `ctx`'s run (startup fills them in);
        `evolve`: prompts evolve (adrs.prompt_evolution.meta_asker said so)."""
        cfg, run = ctx.config, ctx.run
        state = SearchState(cfg.search)
        budget = Budget(cfg.max_cost, cfg.max_tokens, cfg.search.in_flight)
        prompts = None
        if evolve:
            prompts = PromptEvolution(ctx.store, run.id, cfg.prompts, cfg.seed,
                                      max(1, cfg.search.islands), budget,
                                      frozenset(ctx.problem.volatile_metrics))
        return cls(
            state=state, budget=budget, calls=CallLog(ctx.store, run.id, budget),
            dups=Duplicates(cfg.hashing.syntactic),
            outage=Outage(cfg.mutator.base_url, cfg.mutator.give_up_seconds),
            schedule=Schedule(ctx.store, run.id, state, mutator, cfg.mutator.recent_failures,
                              prompts),
            progress=Progress(run.name, run.iterations, progress),
            parents=ParentCache(ctx.store, ctx.problem.volatile_metrics,
                                4 * cfg.search.elite_pool),
            prompts=prompts)
