"""Scorer for speculative_decoding: trusted code, runs in the controller.

The sandbox tabulates the candidate's choose_k(batch, acceptance) on a grid
(evaluators/speculative_decoding.py's harness); the table is checked and the
serving system is simulated here with it, on workloads the candidate never
sees, so nothing measured in the sandbox is believed.

Per workload: mean request latency without speculation / with the policy
(1.0 = no gain). score = the mean over workloads. In a run the requests
(arrivals, lengths, acceptance probabilities, draft outcomes) come from the
run's private judging seed (adrs.judging); `adrs eval` uses the public SEED.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from evaluators import speculative_decoding as spec

SEED = 0
# (name, requests/s, requests, mean output tokens, Beta of acceptance)
WORKLOADS = (
    spec.Workload("chat_light", 4.0, 150, 120.0, (7.0, 3.0)),
    spec.Workload("chat_heavy", 14.0, 150, 120.0, (7.0, 3.0)),
    spec.Workload("code_light", 4.0, 150, 200.0, (9.0, 1.5)),
    spec.Workload("code_heavy", 10.0, 150, 200.0, (9.0, 1.5)),
    spec.Workload("hard_light", 4.0, 150, 150.0, (3.0, 4.0)),
    spec.Workload("hard_heavy", 14.0, 150, 150.0, (3.0, 4.0)),
)


class Evaluator:
    entrypoint = "tabulate"
    harness = spec.HARNESS
    probe_rtol = 1e-6  # k values are integers

    def __init__(self, seed: int = SEED):
        self.seed = seed  # of the requests: public SEED, or a run's judging seed
        self.requests = [spec.draw(w, np.random.default_rng([seed, i]))
                         for i, w in enumerate(WORKLOADS)]

    def private(self, seed: int) -> Evaluator:
        """Judged on requests drawn from `seed` (a run's, adrs.judging), not the public ones."""
        return Evaluator(seed)

    @cached_property
    def plain(self) -> list[float]:
        """Each workload's mean latency without speculation, the yardstick."""
        zero = np.zeros((spec.MAX_BATCH, len(spec.GRID)), dtype=np.int64)
        return [spec.simulate(r, zero)["latency"] for r in self.requests]

    def cases(self) -> list[dict]:
        return [{}]

    def probes(self) -> list[dict]:
        """The table is the policy's whole behaviour, and cheap: the probe is the case."""
        return [{}]

    def score(self, outputs: list, seconds: list[float]) -> dict[str, float]:
        table = spec.check_table(outputs[0])
        metrics, gains = {}, []
        for w, r, plain in zip(WORKLOADS, self.requests, self.plain, strict=True):
            run = spec.simulate(r, table)
            gains.append(plain / run["latency"])
            metrics[f"speedup_{w.name}"] = gains[-1]
            metrics[f"mean_k_{w.name}"] = run["mean_k"]
        return {"score": float(np.mean(gains)), **metrics}
