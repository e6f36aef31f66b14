"""Search events: migrations, resets and MAP-Elites cells, in iteration order."""

from __future__ import annotations

from sqlalchemy import case, func, insert, select

from adrs.store.models import Candidate, SearchEvent
from adrs.store.plain import SearchEventRow, plain
from adrs.store.records import Status


class EventRows:
    """Store methods on the search_events table."""

    def add_search_events(self, run_id: int, events) -> None:
        """Record changes to the search structures (adrs.search.state.Event)."""
        rows = [dict(run_id=run_id, iteration=e.iteration, kind=e.kind, island=e.island,
                     cell=e.cell, candidate_ids=list(e.candidate_ids), score=e.score)
                for e in events]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(insert(SearchEvent), rows)

    def search_events(self, run_id: int, kind: str | None = None) -> list[SearchEventRow]:
        """The run's events (of one kind), in iteration order."""
        with self.session() as s:
            q = select(SearchEvent).where(SearchEvent.run_id == run_id)
            if kind:
                q = q.where(SearchEvent.kind == kind)
            return [plain(e) for e in s.scalars(q.order_by(SearchEvent.iteration,
                                                            SearchEvent.id))]

    def structure_summary(self, run_id: int) -> dict:
        """Best score born on each island, event counts by kind, occupied grid cells."""
        with self.session() as s:
            ok_score = case((Candidate.status == Status.OK, Candidate.score))
            islands = dict(s.execute(  # every island with a child, even only duplicates
                select(Candidate.island, func.max(ok_score))
                .where(Candidate.run_id == run_id, Candidate.island.is_not(None))
                .group_by(Candidate.island)).all())
            events = dict(s.execute(
                select(SearchEvent.kind, func.count()).where(SearchEvent.run_id == run_id)
                .group_by(SearchEvent.kind)).all())
            cells = s.scalar(select(func.count(func.distinct(SearchEvent.cell)))
                             .where(SearchEvent.run_id == run_id, SearchEvent.kind == "cell"))
        return {"island_best": {int(k): v for k, v in sorted(islands.items())},
                "migrations": events.get("migration", 0), "resets": events.get("reset", 0),
                "grid_cells": cells or 0}

    def grid(self, run_id: int) -> dict[str, tuple[int, float]]:
        """The MAP-Elites grid now: cell -> (candidate id, score)."""
        return {e.cell: (e.candidate_ids[0], e.score) for e in self.search_events(run_id, "cell")}
