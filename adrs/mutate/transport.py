"""What a transport is to the LLM mutator: one completion, a Reply or CallFailed.

Its own module so that transports (openai_transport.py, replay.py) and the
mutator (llm.py) import it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Reply:
    """A model's reply: its text, tokens and the model that answered."""

    text: str
    tokens_in: int
    tokens_out: int
    model: str  # the model that answered (a replay answers as the recorded one)
    usage_estimated: bool = False


class CallFailed(Exception):
    """A call that produced no usable reply after retries; `reason` is a short code.
    `usage`: (tokens_in, tokens_out) the server billed for a reply it sent anyway;
    `retry_after`: the seconds the server asked to wait, if it said."""

    def __init__(self, reason: str, message: str, usage: tuple[int, int] = (0, 0),
                 retry_after: float | None = None):
        super().__init__(message)
        self.reason = reason
        self.usage = usage
        self.retry_after = retry_after


class Transport(Protocol):
    """How the LLM mutator reaches a model (the endpoint, or a recording)."""

    async def complete(self, model: str, system: str, user: str, seed: int,
                       iteration: int, purpose: str = "mutation") -> Reply:
        """The reply to one prompt; raises CallFailed when none could be had. `purpose`:
        "mutation" (a child of `iteration`) or "meta" (the prompt rewritten before it)."""
