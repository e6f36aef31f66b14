"""Problems in OpenEvolve's format, run unchanged: `adrs run path/to/folder`, or
the three files as `openevolve-run` takes them: `adrs run INITIAL EVALUATOR
[--config CONFIG.yaml]`.

The folder holds an initial program (`initial_program.py`, or any language the
evaluator compiles, e.g. `initial_program.rs`; EVOLVE-BLOCK-START/END markers in
any comment syntax), `evaluator.py` with `evaluate(program_path) -> dict` (or an
EvaluationResult with artifacts) and optionally `evaluate_stage1/2/3` for
cascade evaluation, and optionally a config (adrs.openevolve_config). The
evaluator runs in the sandbox: its source becomes the problem's harness, run
with its folder on sys.path and as its working directory; the candidate is
written to `program<suffix>` in the scratch /tmp and only the evaluator runs it
(as OpenEvolve does); metrics and artifacts come back as plain data. The score
is `combined_score` when the evaluator gives one, else the mean of the numeric
metrics (OpenEvolve's rule). The LLM settings are mapped but the mutator stays
offline until the user sets `[mutator] kind = "llm"` (so a run needs no key).
docs/openevolve.md compares the two point by point.
"""

from __future__ import annotations

import copy
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

from adrs import evolve_block
from adrs.errors import UserError
from adrs.openevolve_config import Mapped, read_config

EVALUATOR, INITIAL_STEM = "evaluator.py", "initial_program"
_NOT_CODE = {".pyc", ".yaml", ".yml", ".json", ".md", ".txt", ".csv", ".orig", ".bak"}
_LANGUAGES = {".py": "python", ".rs": "rust", ".c": "c", ".cc": "cpp", ".cpp": "cpp",
              ".h": "c", ".r": "r", ".js": "javascript", ".ts": "typescript", ".go": "go",
              ".jl": "julia", ".java": "java", ".sh": "bash", ".cu": "cuda"}

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

def adrs_openevolve_evaluate(cascade, thresholds, exclude, suffix, judging_seed=None):
    import os
    import tempfile

    if judging_seed is not None:  # a run's private seed, for evaluators that read it
        os.environ["ADRS_JUDGING_SEED"] = str(judging_seed)

    path = os.path.join(tempfile.gettempdir(), "program" + suffix)
    with open(path, "w") as fh:
        fh.write(candidate_source)
    stages = []
    for k in (1, 2, 3):  # consecutive stages only, as OpenEvolve runs them
        if globals().get(f"evaluate_stage{k}") is None:
            break
        stages.append(globals()[f"evaluate_stage{k}"])
    if not (cascade and stages):
        return _adrs_reply(evaluate(path), 0)
    metrics, notes = _adrs_parts(stages[0](path))  # raising here fails the candidate
    for k, stage in enumerate(stages[1:], start=1):
        if k > len(thresholds) or not _adrs_passes(metrics, thresholds[k - 1]):
            return _adrs_done(metrics, notes, k)
        try:  # as OpenEvolve: a later stage's error keeps the earlier stages' results
            more, more_notes = _adrs_parts(stage(path))
        except Exception as exc:  # noqa: BLE001
            import traceback

            metrics[f"stage{k + 1}_passed"] = 0.0
            notes.update({f"stage{k + 1}_stderr": str(exc), "failure_stage": f"stage{k + 1}",
                          f"stage{k + 1}_traceback": traceback.format_exc()})
            return _adrs_done(metrics, notes, k)
        # merged as OpenEvolve merges: floats (a flag becomes a number), 'error' dropped
        metrics = {n: float(v) for n, v in {**metrics, **more}.items() if n != "error"}
        notes.update(more_notes)
    return _adrs_done(metrics, notes, len(stages))


def _adrs_passes(metrics, threshold):
    """OpenEvolve's threshold rule: combined_score, else the mean of the numeric
    metrics but 'error' (booleans count as 0 and 1)."""
    if "combined_score" in metrics:
        return metrics["combined_score"] >= threshold
    values = [v for k, v in metrics.items() if k != "error"]
    return bool(values) and sum(values) / len(values) >= threshold


def _adrs_reply(result, stages):
    metrics, notes = _adrs_parts(result)
    return _adrs_done(metrics, notes, stages)


def _adrs_done(metrics, notes, stages):
    flags = sorted(k for k, v in metrics.items() if isinstance(v, bool))
    return {"metrics": {k: float(v) for k, v in metrics.items()}, "flags": flags,
            "artifacts": notes, "stages": stages}


def _adrs_parts(result):
    """(numeric metrics, artifacts as text) of what evaluate() returned."""
    import asyncio
    import inspect
    import math

    if inspect.iscoroutine(result):  # `async def evaluate`: awaited here
        result = asyncio.run(result)
    metrics = getattr(result, "metrics", result)
    if not isinstance(metrics, dict):
        raise TypeError(f"evaluate() returned {type(metrics).__name__}, not a dict of metrics")
    notes = {str(k): v for k, v in metrics.items() if isinstance(v, (str, bytes))}
    notes.update(getattr(result, "artifacts", None) or {})
    # numbers and booleans (flags: a threshold counts them, the fitness does not);
    # non-finite ones cannot cross back
    numbers = {str(k): v for k, v in metrics.items()
               if isinstance(v, (int, float)) and math.isfinite(v)}
    return numbers, {str(k): _adrs_text(v) for k, v in notes.items()}


def _adrs_text(value, limit=32768):
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value)[:limit]  # the parent bounds them again: this only keeps replies small

'''


def fitness(metrics: dict, exclude: tuple[str, ...] = (), flags: tuple[str, ...] = ()) -> float:
    """OpenEvolve's rule (0.4): combined_score, else the mean of the numeric metrics that
    are neither feature dimensions nor flags (booleans), else of all but the flags."""
    if "combined_score" in metrics:
        return float(metrics["combined_score"])
    values = [v for k, v in metrics.items() if k not in exclude and k not in flags] or \
        [v for k, v in metrics.items() if k not in flags]
    return float(sum(values) / len(values)) if values else 0.0


class OpenEvolveEvaluator:
    entrypoint = "adrs_openevolve_evaluate"

    def __init__(self, evaluator: Path, cfg: Mapped, suffix: str):
        # compiled on its own, under its own name: its __future__ imports work and its
        # tracebacks (artifacts the model sees) name its file and lines
        run = (f"exec(compile({evaluator.read_text()!r}, __file__, 'exec', dont_inherit=True),"
               " globals())\n")
        self.harness = f"__file__ = {str(evaluator)!r}\n" + _PRELUDE + run + _ENTRY
        self.case = {"cascade": cfg.cascade, "thresholds": cfg.thresholds,
                     "exclude": list(cfg.features), "suffix": suffix}
        self.exclude = cfg.features
        self.noisy = cfg.noisy

    def cases(self) -> list[dict]:
        return [self.case]

    def private(self, seed: int) -> OpenEvolveEvaluator:
        """Judged with $ADRS_JUDGING_SEED set in the evaluator's process: an evaluator that
        runs the candidate in a subprocess (and does not pass the variable on) can draw
        its judging data from it; one that imports the candidate cannot keep it secret."""
        judged = copy.copy(self)
        judged.case = {**self.case, "judging_seed": seed}
        return judged

    def score(self, outputs: list, seconds: list[float]) -> dict:
        out = outputs[0]
        metrics = {k: float(v) for k, v in out["metrics"].items()}
        value = fitness(metrics, self.exclude, tuple(out.get("flags") or ()))
        if not math.isfinite(value):
            raise ValueError(f"the evaluator's score is {value}")
        return {**metrics, "score": value, "cascade_stages": float(out["stages"]),
                "artifacts": out.get("artifacts") or {}}


@dataclass(frozen=True)
class Files:
    """The three files of an OpenEvolve problem, as `openevolve-run` takes them."""

    initial: Path
    evaluator: Path
    config: Path | None = None

    @property
    def spec(self) -> str:
        """How a run stores them, to load them again on resume."""
        return json.dumps([str(self.initial), str(self.evaluator),
                           str(self.config) if self.config else None])

    @classmethod
    def from_spec(cls, spec: str) -> Files:
        initial, evaluator, config = json.loads(spec)
        return cls(Path(initial), Path(evaluator), Path(config) if config else None)


def is_openevolve_folder(path: Path) -> bool:
    return (path / EVALUATOR).is_file() and bool(_initials(path))


def folder_files(root: Path) -> Files:
    """A folder's files: evaluator.py, its one initial program (initial_program.*, else
    the one initial* file, else the one init_* file) and its config (config.yaml, else
    the first config*.yaml)."""
    initials = _initials(root)
    if len(initials) != 1:
        names = ", ".join(p.name for p in initials) or "none"
        raise UserError(f"{root}: expected one initial program, found {names}; name the one "
                        f"to start from: adrs run {root}/INITIAL {root / EVALUATOR}")
    configs = [root / n for n in ("config.yaml", "config.yml") if (root / n).is_file()] or \
        sorted(p for p in root.glob("config*.y*ml") if p.is_file())
    if len(configs) > 1:
        print(f"adrs: {root}: using {configs[0].name} (also there: "
              f"{', '.join(p.name for p in configs[1:])}; choose one with --config FILE.yaml)",
              file=sys.stderr)
    return Files(initials[0], root / EVALUATOR, configs[0] if configs else None)


def _initials(root: Path) -> list[Path]:
    def sources(pattern: str) -> list[Path]:
        return sorted(p for p in root.glob(pattern) if p.is_file() and p.suffix not in _NOT_CODE)

    return sources(INITIAL_STEM + ".*") or sources("initial*") or sources("init_*")


def problem_fields(files: Files) -> dict:
    """An OpenEvolve problem from its three files (the CLI form), as the fields of an
    adrs.problem.Problem (which builds it: this module does not import problem.py),
    config mapped onto the run's defaults. The evaluator's folder is the problem's:
    bound into the sandbox, its working directory and import path."""
    for path in (files.initial, files.evaluator, files.config):
        if path is not None and not path.is_file():
            raise UserError(f"{path} does not exist; pass INITIAL EVALUATOR [--config FILE]")
    cfg = read_config(files.config)
    _say_ignored(files.config, cfg)
    suffix = cfg.suffix or files.initial.suffix or ".py"
    language = cfg.language or _LANGUAGES.get(suffix.lower(), suffix.lstrip(".") or "python")
    source = files.initial.read_text()
    try:
        evolve_block.split(source)
    except evolve_block.MarkerError as exc:
        raise UserError(f"{files.initial}: {exc}") from None
    root = files.evaluator.resolve().parent
    evaluator = OpenEvolveEvaluator(files.evaluator.resolve(), cfg, suffix)
    return dict(name=root.name, root=root, description=cfg.prompt,
                initial_path=files.initial, initial_source=source, evaluator=evaluator,
                baselines={}, defaults=cfg.defaults, origin="openevolve folder",
                language=language, spec=files.spec)


def _say_ignored(path: Path | None, cfg: Mapped) -> None:
    if cfg.not_needed:
        print(f"adrs: {path}: not needed (adrs stores every candidate, call and prompt as "
              f"it goes): {', '.join(cfg.not_needed)}", file=sys.stderr)
    if cfg.ignored:
        print(f"adrs: {path}: no adrs equivalent, ignored: {', '.join(cfg.ignored)}",
              file=sys.stderr)
