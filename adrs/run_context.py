"""What one run's controller works with: its store, run row, problem, config, archive."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from adrs.config import RunConfig
from adrs.problem import Problem
from adrs.store import Store
from adrs.store.models import Run


@dataclass
class RunContext:
    store: Store
    run: Run
    problem: Problem
    config: RunConfig
    archive_dir: Path
