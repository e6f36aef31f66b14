"""The search's population structures: islands, the MAP-Elites grid, the archive.

Islands evolve mostly apart: iteration i draws its parent from island
i mod N and its child is born there. Every `migration_interval` iterations
each island sends copies of its `migrants` best programs to its neighbour
(ring) or to every other island (all). With `reset_after` > 0, once the best
score has not improved for that many iterations, the weakest half of the
islands (by best score) is emptied and each is reseeded with the best program
of a surviving island, as FunSearch does. The archive holds the best programs
of all islands and, with the grid's cell elites, supplies inspirations.

Structures change only when the loop reveals a result, and results are
revealed in iteration order, so a seeded run (and a resumed one, which
reveals its stored history again) builds the same structures every time.
Each change is returned as an `Event` for the store, where readers find the
grid and the island history. Selection costs O(elite_pool + grid cells),
never O(stored candidates).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adrs.config import SearchConfig
from adrs.search.map_elites import Grid, cell_key
from adrs.search.population import Population
from adrs.search.selection import choose
from adrs.store.records import HistoryRow, Scored


@dataclass(frozen=True)
class Event:
    """A change to the structures, as stored in the search_events table."""

    kind: str  # cell | migration | reset
    iteration: int
    island: int | None = None  # receiving island (migration, reset)
    candidate_ids: tuple[int, ...] = ()
    cell: str | None = None
    score: float | None = None

    @property
    def key(self) -> tuple:
        """What identifies the event when it is stored."""
        return self.kind, self.iteration, self.island, self.cell


class SearchState:
    """The search's structure: islands, the archive, the grid; changes come back as Events."""

    def __init__(self, cfg: SearchConfig):
        self.cfg = cfg
        self.children: dict[int, int] = {}  # shared by every island: a parent is one program
        self.islands = [self._population() for _ in range(max(1, cfg.islands))]
        self.archive = self._population()
        self.grid = Grid(dict(cfg.features), cfg.grid_bins) if cfg.map_elites else None
        self.best, self.last_improvement = float("-inf"), 0

    def _population(self) -> Population:
        return Population(self.cfg.elite_pool, children=self.children)

    def island_for(self, iteration: int) -> int:
        """The island iteration `iteration` belongs to."""
        return iteration % len(self.islands)

    # --- results ---

    def reveal(self, row: HistoryRow) -> list[Event]:
        """Take in one result (in iteration order); return the structural changes."""
        events = []
        if row.status == "ok":
            s = Scored(row.id, row.iteration, row.score, row.generation)
            # generation 0 (the initial program, seeded baselines) starts every island
            homes = range(len(self.islands)) if row.iteration <= 0 else [row.island]
            for k in homes:
                self.islands[k % len(self.islands)].add(s)
            self.archive.add(s)
            events += self._place(s, row)
            if s.score > self.best:
                self.best, self.last_improvement = s.score, max(row.iteration, 0)
        if row.parent_id is not None:
            self.children[row.parent_id] = self.children.get(row.parent_id, 0) + 1
        return events + self._migrate(row.iteration) + self._reset(row.iteration)

    def rescore(self, candidate_id: int, score: float) -> None:
        """A noisy problem's running mean moved: re-rank the candidate everywhere."""
        for pop in (*self.islands, self.archive):
            pop.rescore(candidate_id, score)
        if self.grid:
            self.grid.rescore(candidate_id, score)

    def _place(self, s: Scored, row: HistoryRow) -> list[Event]:
        if self.grid is None:
            return []
        cell = self.grid.cell_of(row.metrics or {}, row.code_length)
        if cell is None or not self.grid.place(s, cell):
            return []
        return [Event("cell", row.iteration, None, (s.id,), cell_key(cell), s.score)]

    def _migrate(self, iteration: int) -> list[Event]:
        n, every = len(self.islands), self.cfg.migration_interval
        if n < 2 or not every or iteration <= 0 or iteration % every:
            return []
        outgoing = [list(pop.elites[: self.cfg.migrants]) for pop in self.islands]
        events = []
        for k in range(n):
            targets = [(k + 1) % n] if self.cfg.topology == "ring" else \
                [j for j in range(n) if j != k]
            for j in targets:
                moved = [s for s in outgoing[k] if self.islands[j].add(s)]
                if moved:
                    events.append(Event("migration", iteration, j, tuple(s.id for s in moved)))
        return events

    def _reset(self, iteration: int) -> list[Event]:
        n, patience = len(self.islands), self.cfg.reset_after
        if n < 2 or not patience or iteration - self.last_improvement < patience:
            return []
        self.last_improvement = iteration  # give the reset islands time to improve
        order = sorted(range(n), key=lambda k: (self.islands[k].best.score, -k))
        weak, strong = order[: n // 2], order[n // 2:][::-1]  # weakest gets the best's best
        events = []
        for m, k in enumerate(weak):
            seed = self.islands[strong[m % len(strong)]].best
            self.islands[k] = self._population()
            self.islands[k].add(seed)
            events.append(Event("reset", iteration, k, (seed.id,)))
        return events

    # --- selection ---

    def select(self, iteration: int, rng: np.random.Generator) -> tuple[Scored, list[Scored]]:
        """A parent from this iteration's island and a few inspirations."""
        cfg = self.cfg
        island = self.islands[self.island_for(iteration)]
        if not island.elites:
            raise RuntimeError("no successful candidate to select from")
        if rng.random() < cfg.explore:  # exploration: any member, or any grid cell
            pool = list(self.grid.cells.values()) if self.grid and self.grid.cells \
                else island.members
            parent = pool[int(rng.integers(len(pool)))]
        else:
            parent = choose(cfg.selection, island.elites, self.children, rng, cfg.temperature,
                            cfg.power_law_alpha, cfg.tournament_size)
        pool = {e.id: e for e in self.archive.elites}
        if self.grid:
            pool.update((e.id, e) for e in self.grid.cells.values())
        pool.pop(parent.id, None)
        others = sorted(pool.values(), key=lambda e: e.iteration)
        k = min(cfg.inspirations, len(others))
        picked = rng.choice(len(others), size=k, replace=False) if k else []
        return parent, [others[int(i)] for i in picked]
