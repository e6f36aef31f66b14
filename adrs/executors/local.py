"""Local pool: up to `workers` sandboxed child processes at once.

Each evaluation is its own short-lived sandbox process, so the pool only needs
threads to wait on them; the CPU work happens in the children.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class LocalExecutor:
    def __init__(self, workers: int):
        self.workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="adrs-eval")

    def submit(self, fn: Callable[..., Any], *args) -> Future:
        return self._pool.submit(fn, *args)

    def shutdown(self, cancel: bool = False) -> None:
        self._pool.shutdown(wait=True, cancel_futures=cancel)
