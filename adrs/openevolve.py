"""Problems in OpenEvolve's format, run unchanged: `adrs run path/to/folder`.

The folder holds `initial_program.py` (EVOLVE-BLOCK-START/END markers),
`evaluator.py` with `evaluate(program_path) -> dict` (or an EvaluationResult)
and optionally `evaluate_stage1/2/3` for cascade evaluation, and optionally
`config.yaml`. The evaluator still runs in the sandbox: its source becomes the
problem's harness, run with the folder on sys.path and as its working
directory; the candidate is written to `program.py` in the scratch /tmp and
only the evaluator runs it (as OpenEvolve does); the metrics come back as
plain data. The score is
`combined_score` when the evaluator gives one, else the mean of the numeric
metrics (OpenEvolve's rule). Settings of config.yaml that have an adrs
equivalent are mapped onto the run's defaults; the rest are named once as
ignored. The LLM settings are mapped but the mutator stays offline until the
user sets `[mutator] kind = "llm"` (so a run needs no key).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from adrs.errors import UserError

EVALUATOR, INITIAL, CONFIG = "evaluator.py", "initial_program.py", "config.yaml"
DEFAULT_THRESHOLDS = (0.5, 0.75, 0.9)  # OpenEvolve's, when config.yaml names none

# Runs before the user's evaluator: `from openevolve.evaluation_result import
# EvaluationResult` must work without OpenEvolve installed.
_PRELUDE = '''
import os as _adrs_os, sys as _adrs_sys, types as _adrs_types

ADRS_LOADS_CANDIDATE = True  # evaluate(program_path) imports it, once, as OpenEvolve does
# the folder as OpenEvolve users run it: sibling modules importable, relative paths
# resolved against it (read-only here: scratch files belong in tempfile's /tmp)
_adrs_sys.path.insert(0, _adrs_os.path.dirname(__file__))
_adrs_os.chdir(_adrs_os.path.dirname(__file__))


class EvaluationResult:
    def __init__(self, metrics=None, artifacts=None):
        self.metrics = dict(metrics or {})
        self.artifacts = dict(artifacts or {})


_adrs_pkg = _adrs_types.ModuleType("openevolve")
_adrs_mod = _adrs_types.ModuleType("openevolve.evaluation_result")
_adrs_mod.EvaluationResult = EvaluationResult
_adrs_pkg.evaluation_result = _adrs_mod
_adrs_sys.modules.setdefault("openevolve", _adrs_pkg)
_adrs_sys.modules.setdefault("openevolve.evaluation_result", _adrs_mod)
'''

# Runs after it: the entry point the sandbox calls.
_ENTRY = '''

def adrs_openevolve_evaluate(cascade, thresholds, exclude):
    import os
    import tempfile

    path = os.path.join(tempfile.gettempdir(), "program.py")
    with open(path, "w") as fh:
        fh.write(candidate_source)
    stages = []
    for k in (1, 2, 3):  # consecutive stages only, as OpenEvolve runs them
        if globals().get(f"evaluate_stage{k}") is None:
            break
        stages.append(globals()[f"evaluate_stage{k}"])
    if not (cascade and stages):
        return {"metrics": _adrs_metrics(evaluate(path)), "stages": 0}
    merged = {}
    for k, stage in enumerate(stages):  # OpenEvolve: stage k+1 runs if threshold k passes
        merged.update(_adrs_metrics(stage(path)))
        last = k + 1 == len(stages)
        if not last and (k >= len(thresholds) or _adrs_passes(merged, thresholds[k]) is False):
            return {"metrics": merged, "stages": k + 1}
    return {"metrics": merged, "stages": len(stages)}


def _adrs_passes(metrics, threshold):
    """OpenEvolve's threshold rule: combined_score, else the mean of the numeric
    metrics but 'error' (booleans count as 0 and 1)."""
    if "combined_score" in metrics:
        return metrics["combined_score"] >= threshold
    values = [v for k, v in metrics.items() if k != "error"]
    return bool(values) and sum(values) / len(values) >= threshold


def _adrs_metrics(result):
    metrics = getattr(result, "metrics", result)
    if not isinstance(metrics, dict):
        raise TypeError(f"evaluate() returned {type(metrics).__name__}, not a dict of metrics")
    import math

    # numbers and booleans (OpenEvolve averages both); non-finite ones cannot cross back
    return {str(k): float(v) for k, v in metrics.items()
            if isinstance(v, (int, float)) and math.isfinite(v)}

'''


def is_openevolve_folder(path: Path) -> bool:
    return (path / EVALUATOR).is_file() and (path / INITIAL).is_file()


def fitness(metrics: dict, exclude: tuple[str, ...] = ()) -> float:
    """OpenEvolve's rule: combined_score, else the mean of the other numeric metrics."""
    if "combined_score" in metrics:
        return float(metrics["combined_score"])
    values = [v for k, v in metrics.items() if k not in exclude] or list(metrics.values())
    return float(sum(values) / len(values)) if values else 0.0


class OpenEvolveEvaluator:
    entrypoint = "adrs_openevolve_evaluate"

    def __init__(self, root: Path, cascade: bool, thresholds: list[float],
                 exclude: tuple[str, ...]):
        source = (root / EVALUATOR).read_text()
        header = f"__file__ = {str(root / EVALUATOR)!r}\n"
        # the cascade's thresholds use the same fitness rule as the score here
        self.harness = header + _PRELUDE + "\n" + source + "\n" + _ENTRY
        self.case = {"cascade": cascade, "thresholds": thresholds, "exclude": list(exclude)}
        self.exclude = exclude

    def cases(self) -> list[dict]:
        return [self.case]

    def score(self, outputs: list, seconds: list[float]) -> dict:
        out = outputs[0]
        metrics = {k: float(v) for k, v in out["metrics"].items()}
        value = fitness(metrics, self.exclude)
        if not math.isfinite(value):
            raise ValueError(f"the evaluator's score is {value}")
        return {**metrics, "score": value, "cascade_stages": float(out["stages"])}


def load(root: Path):
    """The folder as an adrs Problem, with config.yaml mapped onto run defaults."""
    from adrs.problem import Problem

    root = root.resolve()
    cfg = read_config(root / CONFIG)
    if cfg.ignored:
        print(f"adrs: {root / CONFIG}: no adrs equivalent, ignored: {', '.join(cfg.ignored)}",
              file=sys.stderr)
    evaluator = OpenEvolveEvaluator(root, cfg.cascade, cfg.thresholds, cfg.features)
    return Problem(name=root.name, root=root, description=cfg.prompt,
                   initial_path=root / INITIAL,
                   initial_source=(root / INITIAL).read_text(), evaluator=evaluator,
                   baselines={}, defaults=cfg.defaults, origin="openevolve folder")


# config.yaml key -> (adrs config key, converter); _HANDLED keys are mapped by hand
_SIMPLE = {
    "max_iterations": ("iterations", int),
    "random_seed": ("seed", int),
    "llm.temperature": ("mutator.temperature", float),
    "llm.max_tokens": ("mutator.max_tokens", int),
    "llm.timeout": ("mutator.timeout_seconds", float),
    "llm.retries": ("mutator.max_retries", int),
    "llm.api_base": ("mutator.base_url", str),
    "database.num_islands": ("search.islands", int),
    "database.migration_interval": ("search.migration_interval", int),
    "database.exploration_ratio": ("search.explore", float),
    "database.archive_size": ("search.elite_pool", int),
    "evaluator.parallel_evaluations": ("workers", int),
}
_HANDLED = {"diff_based_evolution", "llm.models", "llm.api_key", "prompt.system_message",
            "prompt.num_top_programs", "prompt.num_diverse_programs", "evaluator.timeout",
            "evaluator.cascade_evaluation", "evaluator.cascade_thresholds",
            "database.feature_dimensions"}


@dataclass(frozen=True)
class Mapped:
    """What config.yaml says, in adrs's terms."""

    defaults: dict = field(default_factory=dict)  # run config layer
    prompt: str = ""  # prompt.system_message: the problem statement for the model
    cascade: bool = True
    thresholds: list[float] = field(default_factory=lambda: list(DEFAULT_THRESHOLDS))
    features: tuple[str, ...] = ()  # left out of the mean when there is no combined_score
    ignored: list[str] = field(default_factory=list)


def read_config(path: Path) -> Mapped:
    if not path.is_file():
        return Mapped()
    import yaml

    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({exc}); fix the syntax") from None
    flat = _flatten(data)
    defaults: dict = {}
    for key, (target, kind) in _SIMPLE.items():
        if flat.get(key) is not None:
            _put(defaults, target, kind(flat[key]))
    if "diff_based_evolution" in flat:
        _put(defaults, "mutator.diff", 0.85 if flat["diff_based_evolution"] else 0.0)
    models = flat.get("llm.models") or []
    if models:
        _put(defaults, "mutator.models", {m["name"]: float(m.get("weight", 1.0))
                                          for m in models if isinstance(m, dict)})
    key = flat.get("llm.api_key")
    if isinstance(key, str) and key.startswith("${") and key.endswith("}"):
        _put(defaults, "mutator.api_key_env", key[2:-1])
    shown = sum(int(flat.get(k) or 0) for k in ("prompt.num_top_programs",
                                               "prompt.num_diverse_programs"))
    if shown:
        _put(defaults, "search.inspirations", shown)
    if flat.get("evaluator.timeout"):
        seconds = float(flat["evaluator.timeout"])
        _put(defaults, "sandbox.wall_seconds", seconds)
        _put(defaults, "sandbox.cpu_seconds", int(math.ceil(seconds)))
    ignored = sorted(k for k, v in flat.items()
                     if k not in _SIMPLE and k not in _HANDLED and v is not None)
    thresholds = flat.get("evaluator.cascade_thresholds")
    return Mapped(defaults, str(flat.get("prompt.system_message") or ""),
                  bool(flat.get("evaluator.cascade_evaluation", True)),
                  [float(t) for t in (DEFAULT_THRESHOLDS if thresholds is None else thresholds)],
                  tuple(flat.get("database.feature_dimensions") or ()), ignored)


def _flatten(data: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in data.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[prefix + str(k)] = v
    return out


def _put(into: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    for p in parents:
        into = into.setdefault(p, {})
    into[last] = value
