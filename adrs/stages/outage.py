"""An unreachable model endpoint: iterations lost to it, and when to give up."""

from __future__ import annotations

import time

from adrs.mutate import Mutation


class Outage:
    """An unreachable model endpoint: the iterations lost to it, and whether it has
    been down long enough (give_up_seconds) to stop the run."""

    def __init__(self, base_url: str, give_up_seconds: float):
        self.url = base_url or "the OpenAI API"
        self.give_up_seconds = give_up_seconds
        self.lost = 0  # iterations lost to an unreachable endpoint (redone on resume)
        self.gave_up = False
        self._down_since: float | None = None  # unreachable, no success since

    def lost_to_it(self, mutation: Mutation) -> bool:
        """True when the mutation was lost because no connection could be made at all;
        such an iteration is not stored (resume redoes it)."""
        if mutation.call is not None and mutation.call.error is None:
            self._down_since = None
        if mutation.reason != "llm_unreachable":
            return False
        self.lost += 1
        now = time.monotonic()
        self._down_since = self._down_since or now
        limit = self.give_up_seconds
        self.gave_up |= bool(limit) and now - self._down_since >= limit
        return True

    def reason(self) -> str:
        """Why the run stopped, for the user."""
        return (f"the model endpoint {self.url} was unreachable ({self.lost} "
                "iterations lost, to be redone)")
