"""Local pool: up to `workers` sandboxed child processes at once.

Each evaluation is its own sandboxed child (forked from a warm template), so the
pool only needs threads to wait on them; the CPU work happens in the children.
"""

from __future__ import annotations

from adrs.executors.base import Executor


class LocalExecutor(Executor):
    """`workers` sandboxed evaluations at once, on this machine."""

    def __init__(self, workers: int):
        super().__init__(workers)
        self.workers = workers
