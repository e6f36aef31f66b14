"""Evaluator in OpenEvolve's format: evaluate(program_path) -> dict of metrics.

The function being minimised lives here, not in the candidate: the candidate's
search runs in a process of its own (started here, spoken to in JSON lines) whose
`evaluate_function` asks this process for each value, so the evaluations are
counted against the budget, and the score is this side's value at the point the
search returns, never the value it reports. Under adrs a run's function is the
bumpy one shifted by an offset drawn from $ADRS_JUDGING_SEED, which that
process never gets, so the public optimum's coordinates are worth nothing;
without it (OpenEvolve itself, `adrs eval`) the function is unshifted.
"""

import ctypes
import json
import os
import subprocess
import sys

import numpy as np

RUNS = 8
BUDGET = 1001  # evaluations per search: the start point and 1000 iterations
BOUNDS = 5.0

# The candidate's process: its evaluate_function asks the evaluator for each value.
SEARCH = r'''
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("program", sys.argv[1])
program = importlib.util.module_from_spec(spec)
out, sys.stdout = sys.stdout, sys.stderr  # its prints must not corrupt the protocol
spec.loader.exec_module(program)


def ask(x, y):
    out.write(json.dumps({"f": [float(x), float(y)]}) + "\n")
    out.flush()
    value = json.loads(sys.stdin.readline())["v"]
    if value is None:
        raise RuntimeError("evaluate_function called more often than the budget allows")
    return value


program.evaluate_function = ask
for line in sys.stdin:
    try:
        x, y, _ = program.search_algorithm(seed=json.loads(line)["run"])
        reply = {"done": [float(x), float(y)]}
    except Exception as exc:
        reply = {"error": f"{type(exc).__name__}: {exc}"}
    out.write(json.dumps(reply) + "\n")
    out.flush()
'''


def _shift():
    private = os.environ.get("ADRS_JUDGING_SEED")
    if private is None:
        return 0.0, 0.0
    sx, sy = np.random.default_rng([int(private), 7]).uniform(-1.5, 1.5, size=2)
    return float(sx), float(sy)


def _function(shift):
    sx, sy = shift

    def f(x, y):
        x, y = x - sx, y - sy
        return np.sin(x) * np.cos(y) + np.sin(x * y) + (x ** 2 + y ** 2) / 20

    return f


def _global_minimum(f):
    xs = np.linspace(-BOUNDS, BOUNDS, 1201)
    x, y = np.meshgrid(xs, xs)
    values = f(x, y)
    i = np.unravel_index(np.argmin(values), values.shape)
    return float(x[i]), float(y[i]), float(values[i])


def _search(proc, f, seed):
    """One search; the point it returns, or why it failed."""
    proc.stdin.write(json.dumps({"run": seed}) + "\n")
    proc.stdin.flush()
    used = 0
    while True:
        line = proc.stdout.readline()
        if not line:
            return None, "the program's process died (see its stderr)"
        msg = json.loads(line)
        if "f" not in msg:
            return (msg["done"], None) if "done" in msg else (None, str(msg.get("error")))
        used += 1
        x, y = (float(v) for v in msg["f"])
        value = float(f(x, y)) if used <= BUDGET else float("nan")  # over budget: no answer
        proc.stdin.write(json.dumps({"v": value if np.isfinite(value) else None}) + "\n")
        proc.stdin.flush()


def evaluate(program_path):
    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: no reading our memory
    f = _function(_shift())
    gx, gy, gvalue = _global_minimum(f)
    env = {k: v for k, v in os.environ.items() if k != "ADRS_JUDGING_SEED"}
    proc = subprocess.Popen([sys.executable, "-c", SEARCH, program_path], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    values, distances = [], []
    try:
        for seed in range(RUNS):
            point, error = _search(proc, f, seed)
            if error is not None:
                raise RuntimeError(f"search_algorithm(seed={seed}) failed: {error}")
            x, y = (float(np.clip(v, -BOUNDS, BOUNDS)) for v in point)
            values.append(float(f(x, y)))  # this side's value, not the reported one
            distances.append(float(np.hypot(x - gx, y - gy)))
    finally:
        proc.kill()
        proc.wait()
    value_score = 1.0 / (1.0 + np.mean(values) - gvalue)
    distance_score = 1.0 / (1.0 + np.mean(distances))
    reliability = float(np.mean(np.array(values) - gvalue < 0.01))
    return {"value_score": value_score, "distance_score": distance_score,
            "reliability": reliability,
            "combined_score": 0.5 * value_score + 0.2 * distance_score + 0.3 * reliability}
