"""Runs: create, find, update; and the one-controller lease on a run's row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from adrs.errors import UserError
from adrs.store.models import Run, utcnow
from adrs.store.plain import RunRow, plain
from adrs.store.records import RunStatus


class RunRows:
    """Store methods on the runs table."""

    def create_run(self, name: str, problem: str, problem_path: str, config: dict,
                   seed: int, iterations: int, judging_seed: int | None = None,
                   problem_digest: str | None = None) -> RunRow:
        """A new run, status running; a name already taken is refused naming the fix."""
        if self.get_run(name) is not None:
            raise UserError(f"run '{name}' already exists in {self.url}; "
                            f"continue it with `adrs resume {name}` or choose another --name")
        run = Run(name=name, problem=problem, problem_path=problem_path, config=config,
                  seed=seed, iterations=iterations, status=RunStatus.RUNNING, elapsed_seconds=0.0,
                  judging_seed=judging_seed, problem_digest=problem_digest)
        with self.session() as s, s.begin():
            s.add(run)
        return plain(run)

    def get_run(self, name: str) -> RunRow | None:
        """The run called `name`, as stored now, or None."""
        with self.session() as s:
            return plain(s.scalars(select(Run).where(Run.name == name)).first())

    def runs(self) -> list[RunRow]:
        """Every run in the database, oldest first."""
        with self.session() as s:
            return [plain(r) for r in s.scalars(select(Run).order_by(Run.id))]

    def update_run(self, run_id: int, **fields) -> None:
        """Set columns of a run (status, iterations, config, baselines, elapsed_seconds)."""
        with self.session() as s, s.begin():
            s.execute(update(Run).where(Run.id == run_id).values(**fields))

    def take_lease(self, run_id: int, holder: str | None, me: str) -> bool:
        """Compare-and-swap the run's controller from `holder` (None: nobody) to `me`."""
        q = update(Run).where(Run.id == run_id)
        q = q.where(Run.controller == holder) if holder else q.where(Run.controller.is_(None))
        with self.engine.begin() as conn:
            return conn.execute(q.values(controller=me, heartbeat_at=utcnow())).rowcount == 1

    def renew_lease(self, run_id: int, me: str, release: bool = False) -> None:
        """Heartbeat the lease `me` holds (or give it up), if it still holds it."""
        values = {"controller": None, "heartbeat_at": None} if release else \
            {"heartbeat_at": utcnow()}
        with self.engine.begin() as conn:
            conn.execute(update(Run).where(Run.id == run_id, Run.controller == me)
                         .values(**values))

    def lease_holder(self, run_id: int) -> tuple[str | None, datetime | None]:
        """(controller, its last heartbeat) of the run."""
        with self.engine.connect() as conn:
            return tuple(conn.execute(select(Run.controller, Run.heartbeat_at).where(
                Run.id == run_id)).one())
