"""Evaluator in OpenEvolve's format: evaluate(program_path) -> dict of metrics."""

import importlib.util

import numpy as np

RUNS = 8


def _global_minimum():
    xs = np.linspace(-5, 5, 1201)
    x, y = np.meshgrid(xs, xs)
    values = np.sin(x) * np.cos(y) + np.sin(x * y) + (x ** 2 + y ** 2) / 20
    i = np.unravel_index(np.argmin(values), values.shape)
    return float(x[i]), float(y[i]), float(values[i])


def _load(program_path):
    spec = importlib.util.spec_from_file_location("program", program_path)
    program = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(program)
    return program


def evaluate(program_path):
    program = _load(program_path)
    gx, gy, gvalue = _global_minimum()
    values, distances = [], []
    for seed in range(RUNS):
        x, y, value = program.search_algorithm(seed=seed)
        true_value = float(program.evaluate_function(x, y))
        if abs(true_value - float(value)) > 1e-6:
            return {"combined_score": 0.0, "error": 1.0}  # reported a value it did not reach
        values.append(true_value)
        distances.append(float(np.hypot(x - gx, y - gy)))
    value_score = 1.0 / (1.0 + np.mean(values) - gvalue)
    distance_score = 1.0 / (1.0 + np.mean(distances))
    reliability = float(np.mean(np.array(values) - gvalue < 0.01))
    return {"value_score": value_score, "distance_score": distance_score,
            "reliability": reliability,
            "combined_score": 0.5 * value_score + 0.2 * distance_score + 0.3 * reliability}
