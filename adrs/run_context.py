"""What one run's controller works with: its store, run row, problem, config, archive."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from adrs.config import RunConfig
from adrs.problem import Problem
from adrs.store import Store
from adrs.store.plain import RunRow


@dataclass
class RunContext:
    """Everything one run's controller works with.

    `run` is the run's row as last read (a frozen copy); `update_run` is the one way
    it changes: through the store, then read again.
    """

    store: Store
    run: RunRow
    problem: Problem
    config: RunConfig
    archive_dir: Path

    def update_run(self, **fields) -> RunRow:
        """Change the run's row in the store and keep the fresh copy as `run`."""
        self.store.update_run(self.run.id, **fields)
        self.run = self.store.get_run(self.run.name)
        return self.run
