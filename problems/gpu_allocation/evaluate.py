"""Scorer for gpu_allocation: trusted code, runs in the controller.

The candidate's allocate(rates, throughput, prices) returns a GPU type per request
bucket for each instance; here the assignment is validated and costed (the GPUs
each type needs, at its price), and compared with the exact optimum, found by
dynamic programming over sets of buckets (evaluators/gpu_allocation.py), so nothing the
candidate claims about its allocation is believed.

Per instance: optimum cost / its cost (1.0 = optimal). speed_factor = 1 if the
mean call takes at most TIME_BUDGET seconds of CPU, else 1 / (1 + (t -
TIME_BUDGET) / TIME_BUDGET). score = mean ratio x speed_factor. In a run the
instances come from the run's private judging seed (adrs.judging); `adrs eval`
uses the public SEED.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from evaluators import gpu_allocation as gpus

SEED = 0
TIME_BUDGET = 0.2  # seconds of CPU per allocate() call
# (buckets, total requests/s, decode-step SLO in seconds): small ones first
INSTANCES = tuple((b, rate, slo) for b, slos in ((6, (0.06, 0.1)), (12, (0.1, 0.06)))
                  for rate, slo in zip((1.5, 3.0, 6.0, 12.0, 25.0, 50.0), slos * 3, strict=True))


class Evaluator:
    entrypoint = "allocate"
    probe_rtol = 1e-6  # assignments are integers
    volatile_metrics = ("call_ms",)

    def __init__(self, seed: int = SEED):
        self.seed = seed  # of the instances: public SEED, or a run's judging seed
        self.instances = [gpus.instance(b, rate, slo, np.random.default_rng([seed, k]))
                          for k, (b, rate, slo) in enumerate(INSTANCES)]

    def private(self, seed: int) -> Evaluator:
        """Judged on instances drawn from `seed` (a run's, adrs.judging), not the public ones."""
        return Evaluator(seed)

    @cached_property
    def optima(self) -> list[float]:
        """Each instance's exact minimum cost (about a second for all, computed once)."""
        return [gpus.optimum(*inst) for inst in self.instances]

    def cases(self) -> list[dict]:
        return [_case(*inst) for inst in self.instances]

    def probes(self) -> list[dict]:
        """Four small instances across the rates and SLOs the judged ones span."""
        rng = np.random.default_rng(20261202)
        return [_case(*gpus.instance(b, rate, slo, rng)) for b, rate, slo in
                ((5, 1.5, 0.06), (6, 4.0, 0.1), (7, 12.0, 0.06), (6, 35.0, 0.1))]

    def score(self, outputs: list, seconds: list[float]) -> dict[str, float]:
        ratios = []
        for k, (inst, out) in enumerate(zip(self.instances, outputs, strict=True)):
            try:
                ratios.append(self.optima[k] / gpus.cost(out, *inst))
            except ValueError as exc:
                raise ValueError(f"instance {k}: {exc}") from None
        quality = float(np.mean(ratios))
        call = float(np.mean(seconds))
        speed = 1.0 / (1.0 + max(0.0, call - TIME_BUDGET) / TIME_BUDGET)
        small = [r for r, (b, _, _) in zip(ratios, INSTANCES, strict=True) if b <= 6]
        large = [r for r, (b, _, _) in zip(ratios, INSTANCES, strict=True) if b > 6]
        return {"score": quality * speed, "optimality": quality, "speed_factor": speed,
                "call_ms": call * 1000, "optimality_small": float(np.mean(small)),
                "optimality_large": float(np.mean(large)),
                "optimal_instances": float(sum(r > 1 - 1e-9 for r in ratios))}


def _case(rates, table, prices) -> dict:
    return {"rates": rates, "throughput": table, "prices": prices}
