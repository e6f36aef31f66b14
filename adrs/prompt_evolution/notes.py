"""Insight notes: short model-written observations shown in later prompts.

At most `size` notes per island are shown (the newest). A note is dropped once
`patience` revealed children of its island in a row, made after it, brought no
improvement: it precedes none any more, so it is not worth the prompt's room.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Note:
    """A stored note and what followed it."""

    id: int
    island: int
    text: str
    iteration: int
    dropped_at: int | None = None
    since_improvement: int = 0  # children after it since the last that beat its parent

    def shown(self, i: int) -> bool:
        """Whether iteration i's prompt may show it."""
        return self.iteration <= i and (self.dropped_at is None or self.dropped_at > i)


class Scratchpad:
    """Every note of a run; which are shown, and which to drop."""

    def __init__(self, size: int = 5, patience: int = 30):
        self.size, self.patience = size, patience
        self.notes: dict[int, Note] = {}

    def add(self, note: Note) -> None:
        """A note, stored or restored."""
        self.notes[note.id] = note

    def shown(self, island: int, i: int) -> list[Note]:
        """The island's notes iteration i's prompt shows, oldest first."""
        live = [n for n in self.notes.values() if n.island == island and n.shown(i)]
        return live[-self.size:] if self.size else []

    def follow(self, island: int, iteration: int, improved: bool) -> None:
        """A revealed child of `island` made at `iteration`."""
        for n in self.notes.values():
            if n.island == island and n.iteration < iteration and n.dropped_at is None:
                n.since_improvement = 0 if improved else n.since_improvement + 1

    def to_drop(self, island: int, i: int) -> list[Note]:
        """Notes that `patience` children in a row followed without an improvement, and
        those pushed out of the `size` newest."""
        live = [n for n in self.notes.values() if n.island == island and n.shown(i)]
        stale = [n for n in live if n.since_improvement >= self.patience]
        kept = [n for n in live if n not in stale]
        return stale + kept[:max(0, len(kept) - self.size)]
