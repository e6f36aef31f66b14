"""Scoring an OpenEvolve evaluator's reply on the trusted side: OpenEvolve's fitness
rule, and the evaluator object adrs.problem judges with."""

from __future__ import annotations

import copy
import math
from pathlib import Path

from adrs.openevolve.config import Mapped
from adrs.openevolve.harness import ENTRY, PRELUDE

# The variable an evaluator reads its run's private judging seed from (in its own
# process, inside the box); documented for folder authors in docs/openevolve.md.
JUDGING_SEED_ENV = "ADRS_JUDGING_SEED"


def fitness(metrics: dict, exclude: tuple[str, ...] = (), flags: tuple[str, ...] = ()) -> float:
    """OpenEvolve's rule (0.4): combined_score, else the mean of the numeric metrics that
    are neither feature dimensions nor flags (booleans), else of all but the flags."""
    if "combined_score" in metrics:
        return float(metrics["combined_score"])
    values = [v for k, v in metrics.items() if k not in exclude and k not in flags] or \
        [v for k, v in metrics.items() if k not in flags]
    return float(sum(values) / len(values)) if values else 0.0


class OpenEvolveEvaluator:
    """An OpenEvolve evaluator.py as an adrs evaluator: its source becomes the
    sandbox harness; the trusted side scores the metrics it returns."""

    entrypoint = "adrs_openevolve_evaluate"

    def __init__(self, evaluator: Path, cfg: Mapped, suffix: str):
        # compiled on its own, under its own name: its __future__ imports work and its
        # tracebacks (artifacts the model sees) name its file and lines
        run = (f"exec(compile({evaluator.read_text()!r}, __file__, 'exec', dont_inherit=True),"
               " globals())\n")
        self.harness = f"__file__ = {str(evaluator)!r}\n" + PRELUDE + run + ENTRY
        self.case = {"cascade": cfg.cascade, "thresholds": cfg.thresholds,
                     "exclude": list(cfg.features), "suffix": suffix}
        self.exclude = cfg.features
        self.noisy = cfg.noisy

    def cases(self) -> list[dict]:
        """One case: the cascade settings (and, judged privately, the environment)."""
        return [self.case]

    def private(self, seed: int) -> OpenEvolveEvaluator:
        """Judged with $ADRS_JUDGING_SEED set in the evaluator's process, in the box (the
        case carries it to the harness; the controller's environment is untouched): an
        evaluator that runs the candidate in a subprocess (and does not pass the variable
        on) can draw its judging data from it; one that imports the candidate cannot keep
        it secret."""
        judged = copy.copy(self)
        judged.case = {**self.case, "environment": {JUDGING_SEED_ENV: str(seed)}}
        return judged

    def score(self, outputs: list, seconds: list[float]) -> dict:
        """The evaluator's metrics, and OpenEvolve's fitness as `score`."""
        out = outputs[0]
        metrics = {k: float(v) for k, v in out["metrics"].items()}
        value = fitness(metrics, self.exclude, tuple(out.get("flags") or ()))
        if not math.isfinite(value):
            raise ValueError(f"the evaluator's score is {value}")
        return {**metrics, "score": value, "cascade_stages": float(out["stages"]),
                "artifacts": out.get("artifacts") or {}}
