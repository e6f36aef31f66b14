"""Evaluator in OpenEvolve's format, with a cascade: a quick stage, then the full one."""

import importlib.util

import numpy as np
from openevolve.evaluation_result import EvaluationResult

CAPACITY = 150


def _instances(count, size, seed):
    rng = np.random.default_rng(seed)
    return [rng.integers(20, 101, size=size) for _ in range(count)]


def _fill(program_path, instances):
    spec = importlib.util.spec_from_file_location("program", program_path)
    program = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(program)
    ratios = []
    for items in instances:
        bins = program.pack([int(i) for i in items], CAPACITY)
        lower_bound = int(np.ceil(items.sum() / CAPACITY))
        if bins < lower_bound:
            raise ValueError(f"packed into {bins} bins, fewer than possible")
        ratios.append(lower_bound / bins)
    return float(np.mean(ratios))


def evaluate_stage1(program_path):
    """One small instance: weeds out programs that cannot pack at all."""
    return {"combined_score": _fill(program_path, _instances(1, 60, seed=1))}


def evaluate_stage2(program_path):
    fill = _fill(program_path, _instances(4, 400, seed=2))
    return EvaluationResult(metrics={"combined_score": fill, "fill_ratio": fill},
                            artifacts={"note": "4 instances of 400 items"})


def evaluate(program_path):
    return evaluate_stage2(program_path)
