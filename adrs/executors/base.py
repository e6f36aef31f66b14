"""The executor contract: where the loop's evaluations run, and how many at once."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from adrs.evaluation import RUNNER, Runner, run_here


class Executor:
    """Runs the loop's evaluation functions concurrently. The contract, all of it:

    - `submit(fn, *args)` returns a Future of `fn(*args)`, run in one of the
      executor's `threads` waiting threads; each sandboxed run `fn` makes goes to
      the runner `runner()` gave at submit time;
    - `runner()`: where a sandboxed run happens, a function shaped like
      `adrs.evaluation.run_here` (which it is by default: this machine). Ray sends
      it to a Ray task, `adrs worker`s take it from the database;
    - `shutdown(cancel=False)` waits for what was submitted; `cancel` drops what
      has not started.

    The candidate's hash gate (functional hashing) is always answered in the
    controller's process, so every executor gives the same archive.
    """

    name = "adrs-eval"

    def __init__(self, threads: int = 1):  # a pool's threads start only when used
        self._pool = ThreadPoolExecutor(max(1, threads), thread_name_prefix=self.name)

    def submit(self, fn: Callable[..., Any], *args) -> Future:
        """A Future of fn(*args), run in one of the executor's threads."""
        return self._pool.submit(_call, self.runner(), fn, args)

    def runner(self) -> Runner:
        """Where the sandboxed runs of a submitted function happen (default: here)."""
        return run_here

    def shutdown(self, cancel: bool = False) -> None:
        """Wait for what was submitted; with `cancel`, drop what has not started."""
        self._pool.shutdown(wait=True, cancel_futures=cancel)


def _call(runner: Runner, fn: Callable[..., Any], args: tuple):
    token = RUNNER.set(runner)
    try:
        return fn(*args)
    finally:
        RUNNER.reset(token)
