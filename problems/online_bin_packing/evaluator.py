"""Evaluator in OpenEvolve's format, with a cascade: a quick stage, then the full one.

The packing loop is here, not in the candidate: the candidate's `priority` runs in
a process of its own (started here, spoken to in JSON lines) and only ever sees
the item in hand and the open bins, so it cannot read the items still to come,
report a bin count it did not reach, or patch the loop. Under adrs a run's
instances come from $ADRS_JUDGING_SEED, which that process never gets; without
it (OpenEvolve itself, `adrs eval`) the public seeds 1 and 2 are used.
"""

import ctypes
import json
import os
import subprocess
import sys

import numpy as np
from openevolve.evaluation_result import EvaluationResult

CAPACITY = 150

# The candidate's process: import the program, answer priority(item, bins) per line.
SERVE = r'''
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("program", sys.argv[1])
program = importlib.util.module_from_spec(spec)
out, sys.stdout = sys.stdout, sys.stderr  # its prints must not corrupt the replies
spec.loader.exec_module(program)
import numpy as np
for line in sys.stdin:
    item, bins = json.loads(line)
    scores = np.asarray(program.priority(item, np.array(bins, dtype=float)), dtype=float)
    out.write(json.dumps(scores.ravel().tolist()) + "\n")
    out.flush()
'''


def _instances(count, size, stage):
    private = os.environ.get("ADRS_JUDGING_SEED")
    rng = np.random.default_rng(stage if private is None else [int(private), stage])
    return [rng.integers(20, 101, size=size) for _ in range(count)]


class Candidate:
    """The program's priority function, in a process that cannot see this one."""

    def __init__(self, program_path):
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: no reading our memory
        env = {k: v for k, v in os.environ.items() if k != "ADRS_JUDGING_SEED"}
        self.proc = subprocess.Popen([sys.executable, "-c", SERVE, program_path], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def priority(self, item, bins):
        self.proc.stdin.write(json.dumps([item, bins]) + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        if not reply:
            raise RuntimeError("the program's priority() failed (see its stderr)")
        scores = np.asarray(json.loads(reply), dtype=float)
        if scores.shape != (len(bins),) or not np.all(np.isfinite(scores)):
            raise ValueError(f"priority() must return {len(bins)} finite scores, one per bin")
        return scores

    def close(self):
        self.proc.kill()
        self.proc.wait()


def pack(candidate, items):
    """Online packing, counted here: each item goes to the fitting bin the candidate's
    priority prefers, or opens a new bin."""
    remaining = []
    for item in items:
        fits = [i for i, r in enumerate(remaining) if r >= item]
        if fits:
            scores = candidate.priority(int(item), [int(remaining[i]) for i in fits])
            remaining[fits[int(np.argmax(scores))]] -= item
        else:
            remaining.append(CAPACITY - item)
    return len(remaining)


def _fill(program_path, instances):
    candidate = Candidate(program_path)
    try:
        ratios = [int(np.ceil(items.sum() / CAPACITY)) / pack(candidate, items)
                  for items in instances]
    finally:
        candidate.close()
    return float(np.mean(ratios))


def evaluate_stage1(program_path):
    """One small instance: weeds out programs that cannot pack at all."""
    return {"combined_score": _fill(program_path, _instances(1, 60, stage=1))}


def evaluate_stage2(program_path):
    fill = _fill(program_path, _instances(4, 400, stage=2))
    return EvaluationResult(metrics={"combined_score": fill, "fill_ratio": fill},
                            artifacts={"note": "4 instances of 400 items"})


def evaluate(program_path):
    return evaluate_stage2(program_path)
