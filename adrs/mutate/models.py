"""Which model answers the next request: weighted ensembles, a cost-aware bandit,
and a circuit breaker that pauses a model that keeps failing.

`choose` is called by the loop in iteration order with a uniform draw from the
iteration's generator, so a seeded run picks the same models every time. The
bandit (UCB1) scores a model by the improvement over its parent that its
children bought per dollar (per call when a model is free), normalised across
models, plus an exploration bonus; it learns from results as the loop reveals
them, which is also deterministic. Requests already sent but not yet scored
count towards a model's pulls, so 32 requests in flight do not all go to one
model before the first result arrives.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Arm:
    weight: float
    pulls: int = 0  # scored results seen
    pending: int = 0  # chosen, not yet scored
    gain: float = 0.0  # sum of max(0, child score - parent score)
    cost: float = 0.0  # USD
    failures_in_a_row: int = 0
    paused_until: float = 0.0
    half_open: bool = False  # tripped: after the pause one probe call goes first
    probing: bool = False  # that probe is in flight


class ModelChooser:
    """Which model answers each request: ensemble weights, an optional UCB bandit on
    improvement per dollar, and a circuit breaker per model."""

    def __init__(self, weights: dict[str, float], bandit: bool = False,
                 breaker_failures: int = 5, breaker_seconds: float = 60.0,
                 clock: Callable[[], float] = time.monotonic,
                 say: Callable[[str], None] | None = None):
        self.arms = {m: _Arm(w) for m, w in weights.items()}
        self.bandit = bandit
        self.breaker_failures, self.breaker_seconds = breaker_failures, breaker_seconds
        self.clock = clock
        self.say = say or (lambda msg: print(f"adrs: {msg}", file=sys.stderr, flush=True))
        self._lock = threading.Lock()

    # --- choice ---

    def choose(self, u: float) -> str:
        """A model for the next request; `u` is a uniform draw in [0, 1)."""
        with self._lock:
            now = self.clock()
            ready = [m for m, a in self.arms.items() if a.paused_until <= now]
            if not ready:  # every model is paused: the one that resumes first goes on
                ready = [min(self.arms, key=lambda m: self.arms[m].paused_until)]
            model = self._ucb(ready) if self.bandit else self._weighted(ready, u)
            self.arms[model].pending += 1
            return model

    def pause_left(self, model: str) -> float:
        """Seconds until a paused model may be called again (0 if it is not paused)."""
        return max(0.0, self.arms[model].paused_until - self.clock())

    def may_call(self, model: str) -> bool:
        """Whether a call may go now: not paused, and after a pause only one probe until
        it succeeds (half-open), instead of every queued call at once."""
        with self._lock:
            a = self.arms[model]
            if a.paused_until > self.clock() or a.probing:
                return False
            a.probing = a.half_open
            return True

    def call_done(self, model: str) -> None:
        """The call let through by may_call is over (call_succeeded/failed said how)."""
        with self._lock:
            if model in self.arms:
                self.arms[model].probing = False

    def _weighted(self, ready: list[str], u: float) -> str:
        total = sum(self.arms[m].weight for m in ready)
        if total <= 0:
            return ready[int(u * len(ready))]
        acc = 0.0
        for m in ready:
            acc += self.arms[m].weight / total
            if u < acc:
                return m
        return ready[-1]

    def _ucb(self, ready: list[str]) -> str:
        for m in ready:  # every model is tried once first
            if self.arms[m].pulls + self.arms[m].pending == 0:
                return m
        value = {m: self._value(self.arms[m]) for m in ready}
        top = max(value.values()) or 1.0
        n = sum(a.pulls + a.pending for a in self.arms.values())

        def ucb(m: str) -> float:
            a = self.arms[m]
            return value[m] / top + math.sqrt(2 * math.log(n) / (a.pulls + a.pending))

        return max(ready, key=ucb)

    @staticmethod
    def _value(a: _Arm) -> float:
        """Mean improvement per dollar, or per call for a free model."""
        if a.pulls == 0:
            return 0.0
        return a.gain / a.cost if a.cost > 0 else a.gain / a.pulls

    # --- feedback ---

    def observe(self, model: str, gain: float, cost: float, pending: bool = True) -> None:
        """A child of `model` was scored (gain 0 for failures and duplicates)."""
        with self._lock:
            a = self.arms.get(model)
            if a is None:  # a model no longer in the ensemble (config changed on resume)
                return
            a.pulls += 1
            a.gain += max(0.0, gain)
            a.cost += cost
            if pending:
                a.pending = max(0, a.pending - 1)

    def call_succeeded(self, model: str) -> None:
        """A call to `model` worked: its breaker closes."""
        with self._lock:
            if model in self.arms:
                self.arms[model].failures_in_a_row = 0
                self.arms[model].half_open = False

    def call_failed(self, model: str, error: str) -> None:
        """Count a failed call; after `breaker_failures` in a row, pause the model."""
        with self._lock:
            a = self.arms.get(model)
            if a is None or self.breaker_failures <= 0:
                return
            a.failures_in_a_row += 1
            if a.failures_in_a_row < self.breaker_failures or a.paused_until > self.clock():
                return
            a.paused_until = self.clock() + self.breaker_seconds
            a.half_open = True
            a.failures_in_a_row = self.breaker_failures - 1  # one more failure re-trips
        self.say(f"model {model} failed {self.breaker_failures} calls in a row (last: "
                 f"{error[:120]}); pausing it for {self.breaker_seconds:g} s")
