"""The harness an OpenEvolve evaluator runs in: Python source text that runs inside the
sandbox around the user's evaluator.py (the problem's harness, box/child.py), never in
the controller. PRELUDE comes before the evaluator's own source, ENTRY after it; the
sandbox calls ENTRY's `adrs_openevolve_evaluate` with the case the controller sends
(the cascade settings and, when judging privately, the environment to evaluate in).
"""

# Runs before the user's evaluator: `from openevolve.evaluation_result import
# EvaluationResult` must work without OpenEvolve installed.
PRELUDE = '''
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
ENTRY = '''

def adrs_openevolve_evaluate(cascade, thresholds, exclude, suffix, environment=None):
    import os
    import tempfile

    # what the controller gives this evaluator's process (a run's private seed): only
    # this process, inside the box, gets it
    os.environ.update({str(k): str(v) for k, v in (environment or {}).items()})

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
