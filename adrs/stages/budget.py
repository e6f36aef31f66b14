"""LLM spending and when it stops the run, decided in iteration order.

Replies arrive in any order, so the spending iteration i sees counts only the
calls of iterations <= i - in_flight (known at step i whatever the timing); the
later calls wait here unbilled. That keeps the stopping point independent of
timing, so a replay stops where the original run did.
"""

from __future__ import annotations

import heapq
from collections import deque


class Budget:
    """What the run has spent on LLM calls, billed in iteration order, against
    max_cost and max_tokens."""

    def __init__(self, max_cost: float, max_tokens: int, in_flight: int):
        self.max_cost, self.max_tokens, self.in_flight = max_cost, max_tokens, in_flight
        self.cost, self.tokens = 0.0, 0  # billed so far
        self._unbilled: list[tuple[int, float, int]] = []  # heap of (iteration, cost, tokens)
        self._recent: deque[tuple[float, int]] = deque(maxlen=max(8, in_flight))

    @property
    def limited(self) -> bool:
        """A cost or token limit is set."""
        return bool(self.max_cost or self.max_tokens)

    def restore(self, cost: float, tokens: int) -> None:
        """What the run's stored calls cost before this controller started."""
        self.cost, self.tokens = cost, tokens

    def charge(self, iteration: int, cost: float, tokens: int) -> None:
        """Iteration's call is known; it is billed once iteration <= i - in_flight."""
        heapq.heappush(self._unbilled, (iteration, cost, tokens))

    def exceeded(self, i: int) -> str | None:
        """Why starting iteration i would overrun a budget, or None.

        The calls still in flight, and child i's own, are counted at the price of
        the dearest recent call (prompts grow with the population), so the run stops
        within about one call's price of the budget rather than `in_flight` calls past it.
        """
        if not self.limited:
            return None
        lag = i - self.in_flight
        while self._unbilled and self._unbilled[0][0] <= lag:
            _, cost, tokens = heapq.heappop(self._unbilled)
            self.cost += cost
            self.tokens += tokens
            self._recent.append((cost, tokens))
        pending = i - 1 - max(lag, 0)
        recent = self._recent or [(0.0, 0)]
        cost = self.cost + (pending + 1) * max(c for c, _ in recent)  # +1: child i
        tokens = self.tokens + (pending + 1) * max(t for _, t in recent)
        if self.max_cost and cost >= self.max_cost:
            return (f"the cost budget (--max-cost {self.max_cost:g} USD) ran out: "
                    f"{self.cost:.4f} USD billed, {pending} calls finishing")
        if self.max_tokens and tokens >= self.max_tokens:
            return (f"the token budget (--max-tokens {self.max_tokens}) ran out: "
                    f"{self.tokens} tokens billed, {pending} calls finishing")
        return None
