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

    `run` is the run's row as last read; the controller replaces it (it is a frozen
    copy) after each change it makes through the store.
    """

    store: Store
    run: RunRow
    problem: Problem
    config: RunConfig
    archive_dir: Path
