"""MAP-Elites: a grid over feature dimensions that keeps the best candidate per cell.

Features are named with a [low, high] range (`search.features`): `code_length`
(characters of the program, binned on a log scale) or any metric the
evaluator returns (binned linearly). Values outside the range fall in the edge
bins. A candidate lacking a feature's metric is left out of the grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from adrs.store.records import Scored

Cell = tuple[int, ...]


@dataclass
class Grid:
    """MAP-Elites: the best candidate per cell of a feature grid."""

    features: dict[str, list[float]]  # name -> [low, high]
    bins: int
    cells: dict[Cell, Scored] = field(default_factory=dict)

    def cell_of(self, metrics: dict, code_length: int) -> Cell | None:
        """The cell of a candidate with these metrics and code length, or None if a feature is
    missing or not finite."""
        coords = []
        for name, (low, high) in self.features.items():
            value = code_length if name == "code_length" else metrics.get(name)
            if value is None or not math.isfinite(value):
                return None
            if name == "code_length":  # sizes spread over orders of magnitude
                value, low, high = (math.log(max(x, 1.0)) for x in (value, low, high))
            frac = (value - low) / (high - low) if high > low else 0.0
            coords.append(min(self.bins - 1, max(0, int(frac * self.bins))))
        return tuple(coords)

    def place(self, s: Scored, cell: Cell) -> bool:
        """Keep `s` if its cell is empty or it beats the cell's elite; True if it was kept."""
        held = self.cells.get(cell)
        if held is not None and (held.score, -held.iteration) >= (s.score, -s.iteration):
            return False
        self.cells[cell] = s
        return True

    def rescore(self, candidate_id: int, score: float) -> None:
        """A candidate's score changed (a noisy problem's running mean)."""
        for cell, s in self.cells.items():
            if s.id == candidate_id:
                self.cells[cell] = Scored(s.id, s.iteration, score, s.generation)


def cell_key(cell: Cell) -> str:
    """How a cell is named in the store: '3,0'."""
    return ",".join(str(c) for c in cell)
