"""Executors run evaluations concurrently: a local pool, Ray, or `adrs worker`s."""

from adrs.executors.base import Executor
from adrs.executors.local import LocalExecutor

__all__ = ["Executor", "LocalExecutor", "make_executor"]


def make_executor(ctx) -> Executor:
    """The executor a run's config names (`executor = local | ray | workers`)."""
    cfg = ctx.config
    if cfg.executor == "ray":
        from adrs.executors.ray import RayExecutor

        return RayExecutor(cfg.ray_address, max(8, 2 * cfg.search.in_flight))
    if cfg.executor == "workers":
        from adrs.executors.workers import WorkersExecutor

        return WorkersExecutor(ctx.store, ctx.run.id, max(8, 2 * cfg.search.in_flight))
    return LocalExecutor(cfg.worker_count)
