"""Scorer for optimizer_discovery: trusted code, runs in the controller.

The sandbox runs the harness (evaluators/optimizer_tasks.py), which runs the
candidate's init/update in a process of its own and, for each task, tunes the
learning rate with the same budget for everyone (optuna TPE, seeded, TRIALS
trials, each in a fresh process forked from the loaded candidate) and returns
the best trial's step count and final parameters. Here the loss at
those parameters is recomputed on the task's instance, rebuilt from the seed, so a claimed success
that the parameters do not bear out counts as a miss. In a run the instances
come from the run's private judging seed (adrs.judging): the candidate cannot
know the data, the optima or the starting points; `adrs eval` uses the public
SEED.

Per task: reached the target in s steps -> Adam's steps / s (Adam scores 1;
capped at 2); missed -> 0.5 * the share of the way to the target covered (in
log loss). score = mean over the search tasks; `heldout_score`, the same over
tasks never used for selection, is reported beside it (the generalisation gap).
An optimizer that diverges at every learning rate tried on a task fails.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from evaluators import optimizer_tasks as tasks

TRIALS = 12  # learning rates tried per task, for every candidate and baseline
CAP = 2.0  # a task counts at most twice as fast as Adam: no single task dominates
SEED = 0
REFERENCE = Path(__file__).with_name("reference.json")  # Adam's steps per task


class Evaluator:
    entrypoint = "run_task"
    harness = Path(tasks.__file__).read_text()
    preload = ("optuna",)  # the harness tunes learning rates with it; missing: fail at once
    probe_rtol = 1e-6
    volatile_metrics = ("seconds",)  # measured: left out of prompts

    def __init__(self, seed: int = SEED):
        self.seed = seed  # of the task instances: public SEED, or a run's judging seed
        self.order = list(tasks.SEARCH_TASKS + tasks.HELDOUT_TASKS)
        self.reference = json.loads(REFERENCE.read_text()) if REFERENCE.is_file() else {}

    def private(self, seed: int) -> Evaluator:
        """Judged on task instances drawn from `seed` (a run's, adrs.judging)."""
        return Evaluator(seed)

    def cases(self) -> list[dict]:
        return [{"task": name, "seed": self.seed, "trials": TRIALS} for name in self.order]

    def instance(self, name: str) -> tasks.Task:
        """The task's instance (every tuning trial runs on it), rebuilt here from the seed."""
        return tasks.TASKS[name](self.seed)

    def probes(self) -> list[dict]:
        """Six untuned steps on a tiny quadratic at two learning rates."""
        return [{"task": "probe", "lr": 0.05}, {"task": "probe", "lr": 0.5}]

    def score(self, outputs: list, seconds: list[float]) -> dict:
        metrics: dict[str, float] = {}
        for name, out in zip(self.order, outputs, strict=True):
            metrics.update(self._task_metrics(name, out))
        search = [metrics[f"{t}_score"] for t in tasks.SEARCH_TASKS]
        held = [metrics[f"{t}_score"] for t in tasks.HELDOUT_TASKS]
        metrics["score"] = float(np.mean(search))
        metrics["heldout_score"] = float(np.mean(held))
        metrics["seconds"] = float(sum(seconds))
        return metrics

    def _task_metrics(self, name: str, out: dict) -> dict:
        task = self.instance(name)
        if out["diverged"]:
            raise ValueError(f"the optimizer diverged at every learning rate tried on {name}")
        params = [np.asarray(p, dtype=float) for p in out["params"]]
        if [p.shape for p in params] != [p.shape for p in task.params0()]:
            raise ValueError(f"{name}: the returned parameters have the wrong shapes")
        with np.errstate(all="ignore"):  # wild parameters may overflow: that is a score
            loss = task.loss(params)  # recomputed here: the candidate's claims are not trusted
        steps = out["steps"] if out["steps"] is not None and loss <= task.target else None
        if steps is not None:
            value = min(CAP, self.reference.get(name, steps) / steps)
        else:
            value = 0.5 * tasks.progress(task.loss(task.params0()), loss, task.target)
        return {f"{name}_score": value, f"{name}_steps": float(steps or -1),
                f"{name}_loss": loss, f"{name}_lr": float(out["lr"])}
