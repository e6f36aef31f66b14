"""Which earlier candidate, if any, a new one behaves exactly like.

Evaluations finish in any order, but the answer for iteration i must not
depend on timing, or runs would stop being reproducible. So iteration i's
answer waits until every earlier in-flight iteration has reported its
functional hash (their probes run first and are cheap), and then names the
earliest iteration with the same hash and counts the earlier ones.
Iterations are submitted to a FIFO pool, so every earlier one is already
running or done: the wait cannot deadlock.
"""

from __future__ import annotations

import bisect
import threading


class EquivalenceRegistry:
    """Functional hash -> the iterations that produced it, answered in iteration order so
    the earliest equivalent is the same whatever finishes first."""

    def __init__(self, known: dict[str, list[int]] | None = None):
        self._cond = threading.Condition()
        self._seen: dict[str, list[int]] = {h: sorted(v) for h, v in (known or {}).items()}
        self._pending: set[int] = set()  # submitted, hash not reported yet

    def expect(self, iteration: int) -> None:
        """Iteration `iteration` will report a hash: later ones wait for it."""
        with self._cond:
            self._pending.add(iteration)

    def resolve(self, iteration: int, fhash: str) -> tuple[int | None, int]:
        """Report `iteration`'s hash.

        Returns the earliest earlier iteration with the same hash (None if there is
        none) and how many earlier iterations had it.
        """
        with self._cond:
            self._pending.discard(iteration)
            bisect.insort(self._seen.setdefault(fhash, []), iteration)
            self._cond.notify_all()
            self._cond.wait_for(lambda: not any(j < iteration for j in self._pending))
            seen = self._seen[fhash]
            earlier = bisect.bisect_left(seen, iteration)
        return (seen[0] if earlier else None), earlier

    def abandon(self, iteration: int) -> None:
        """`iteration` will never report (it failed before its probes, or was cancelled)."""
        with self._cond:
            self._pending.discard(iteration)
            self._cond.notify_all()
