"""Which earlier candidate, if any, a new one behaves exactly like.

Evaluations finish in any order, but the answer for iteration i must not
depend on timing, or runs would stop being reproducible. So iteration i's
answer waits until every earlier in-flight iteration has reported its
functional hash (their probes run first and are cheap), and then names the
earliest iteration with the same hash. Iterations are submitted to a FIFO
pool, so every earlier one is already running or done: the wait cannot
deadlock.
"""

from __future__ import annotations

import threading


class EquivalenceRegistry:
    def __init__(self, known: dict[str, int] | None = None):
        self._cond = threading.Condition()
        self._first: dict[str, int] = dict(known or {})  # functional hash -> earliest iteration
        self._pending: set[int] = set()  # submitted, hash not reported yet

    def expect(self, iteration: int) -> None:
        with self._cond:
            self._pending.add(iteration)

    def resolve(self, iteration: int, fhash: str) -> int | None:
        """Report `iteration`'s hash; return the earliest earlier iteration sharing it."""
        with self._cond:
            self._pending.discard(iteration)
            if iteration < self._first.get(fhash, iteration + 1):
                self._first[fhash] = iteration
            self._cond.notify_all()
            self._cond.wait_for(lambda: not any(j < iteration for j in self._pending))
            first = self._first[fhash]
        return first if first < iteration else None

    def abandon(self, iteration: int) -> None:
        """`iteration` will never report (it failed before its probes, or was cancelled)."""
        with self._cond:
            self._pending.discard(iteration)
            self._cond.notify_all()
