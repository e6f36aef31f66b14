"""Scorer for txn_scheduling: trusted code, runs in the controller.

The candidate's schedule(reads, writes, durations, threads) returns an order for
each batch; here it is checked to be a permutation and run through the
simulator (evaluators/txn_scheduling.py) to get the makespan, so nothing the
candidate claims about its schedule is believed.

Per batch: lower bound / makespan (1.0 would be optimal at the bound).
speed_factor = 1 if the mean call takes at most TIME_BUDGET seconds of CPU,
otherwise 1 / (1 + (t - TIME_BUDGET) / TIME_BUDGET). score = mean ratio x
speed_factor. In a run the batches come from the run's private judging seed
(adrs.judging); `adrs eval` uses the public SEED.
"""

from __future__ import annotations

import numpy as np

from evaluators import txn_scheduling as txn

SEED = 0
BATCHES = 3  # per workload
TIME_BUDGET = 0.2  # seconds of CPU per schedule() call


class Evaluator:
    entrypoint = "schedule"
    probe_rtol = 1e-6  # orders are integers
    volatile_metrics = ("call_ms",)

    def __init__(self, seed: int = SEED):
        self.seed = seed  # of the batches: public SEED, or a run's judging seed
        self.batches = [(w.name, txn.batch(w, np.random.default_rng([seed, i, k])))
                        for i, w in enumerate(txn.WORKLOADS) for k in range(BATCHES)]

    def private(self, seed: int) -> Evaluator:
        """Judged on batches drawn from `seed` (a run's, adrs.judging), not the public ones."""
        return Evaluator(seed)

    def cases(self) -> list[dict]:
        return [_case(b) for _, b in self.batches]

    def probes(self) -> list[dict]:
        """Two small batches, one contended and one not: 40 transactions in all."""
        rng = np.random.default_rng(20261202)
        small = [txn.Workload("probe_hot", 24, 12, 1.0, (1, 4), 0.5, 3),
                 txn.Workload("probe_calm", 16, 60, 0.0, (2, 5), 0.5, 4)]
        return [_case(txn.batch(w, rng)) for w in small]

    def score(self, outputs: list, seconds: list[float]) -> dict[str, float]:
        ratios: dict[str, list[float]] = {w.name: [] for w in txn.WORKLOADS}
        spans = []
        for (name, batch), out in zip(self.batches, outputs, strict=True):
            try:
                order = txn.check_order(out, len(batch))
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
            spans.append(txn.makespan(batch, order))
            ratios[name].append(txn.lower_bound(batch) / spans[-1])
        quality = float(np.mean([r for v in ratios.values() for r in v]))
        call = float(np.mean(seconds))
        speed = 1.0 / (1.0 + max(0.0, call - TIME_BUDGET) / TIME_BUDGET)
        return {"score": quality * speed, "bound_ratio": quality, "speed_factor": speed,
                "call_ms": call * 1000, "mean_makespan": float(np.mean(spans)),
                **{f"ratio_{k}": float(np.mean(v)) for k, v in ratios.items()}}


def _case(batch: txn.Batch) -> dict:
    return {"reads": batch.reads, "writes": batch.writes, "durations": batch.durations,
            "threads": batch.threads}
