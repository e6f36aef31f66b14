"""What every benchmark script shares: the machine line and writing results."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def save(out: Path, lines: list[str], results=None) -> None:
    """Write the markdown table (and the raw results beside it as JSON)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    if results is not None:
        out.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")


def score_in_process(problem, fn, cases) -> None:
    """A full evaluation's cases and scoring, made in this process with no sandbox
    (each case timed on the process's CPU clock, as the scorer is given it)."""
    from adrs.evaluation import trusted_seconds
    from adrs.sandbox import Outcome

    outputs, seconds = [], []
    for case in cases:
        t = time.process_time()
        outputs.append(fn(**case))
        seconds.append(time.process_time() - t)
    problem.evaluator.score(outputs, trusted_seconds(Outcome(True, outputs, seconds)))
