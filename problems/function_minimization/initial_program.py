"""Minimise a bumpy 2-D function with a fixed budget of function evaluations.

An OpenEvolve-format problem: adrs runs this folder unchanged.
"""

import numpy as np


# EVOLVE-BLOCK-START
def search_algorithm(iterations=1000, bounds=(-5.0, 5.0), seed=0):
    """Hill climbing from a random start with a fixed step size."""
    rng = np.random.default_rng(seed)
    best_x, best_y = rng.uniform(bounds[0], bounds[1], size=2)
    best_value = evaluate_function(best_x, best_y)
    step = 3.0
    shrink = 1.0
    for _ in range(iterations):
        x = np.clip(best_x + rng.normal() * step, bounds[0], bounds[1])
        y = np.clip(best_y + rng.normal() * step, bounds[0], bounds[1])
        value = evaluate_function(x, y)
        if value < best_value:
            best_x, best_y, best_value = x, y, value
        step = step * shrink
    return best_x, best_y, best_value
# EVOLVE-BLOCK-END


def evaluate_function(x, y):
    """Many local minima; the global one is near (-1.70, 0.68)."""
    return np.sin(x) * np.cos(y) + np.sin(x * y) + (x ** 2 + y ** 2) / 20


def run_search():
    return search_algorithm()
