"""Scorer for moe_expert_placement: trusted code, runs in the controller.

score = balancedness * speed_factor, where
  balancedness = mean over scenarios, windows and layers of mean/max GPU load,
                 with the placement computed on window 2k and judged on window
                 2k+1, which is never sent to the candidate;
  speed_factor = 1 if the mean call takes at most TIME_BUDGET seconds of CPU,
                 otherwise 1 / (1 + (t - TIME_BUDGET) / TIME_BUDGET).
In a run the workloads come from the run's private judging seed (adrs.judging),
so regenerating the public scenarios from the source predicts nothing; `adrs
eval` judges on the public seeds. Times are the CPU time the kernel charged to
the sandbox during each call, so machine load does not move the score.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from evaluators.moe_placement import (
    SCENARIOS,
    InvalidPlacement,
    Topology,
    balancedness,
    expert_loads,
    gpu_loads,
    node_loads,
    validate_placement,
)

TIME_BUDGET = 0.020  # seconds per rebalance_experts call


class Evaluator:
    entrypoint = "rebalance_experts"
    probe_rtol = 1e-6  # placements are integers; this only matters for float outputs
    volatile_metrics = ("call_ms",)  # measured: shown in prompts it would vary run to run

    def __init__(self, topology: Topology | None = None, scenarios=SCENARIOS,
                 judging_seed: int | None = None):
        self.topology = topology = topology or Topology()
        self.scenarios = scenarios
        self.judging_seed = judging_seed
        self._public = [expert_loads(topology, s) for s in scenarios]  # probes' source
        self._loads = self._public if judging_seed is None else \
            [expert_loads(topology, replace(s, seed=_derived(judging_seed, i)))
             for i, s in enumerate(scenarios)]
        # (scenario index, window): place on an even window, judge on the odd one after
        # it; odd windows never enter the sandbox
        self._pairs = [(i, w) for i, s in enumerate(scenarios) for w in range(0, s.windows - 1, 2)]

    def private(self, seed: int) -> Evaluator:
        """Judged on workloads drawn from `seed` (a run's, adrs.judging), not the public ones."""
        return Evaluator(self.topology, self.scenarios, seed)

    def cases(self) -> list[dict]:
        t = self.topology
        return [dict(weight=self._loads[i][w], num_replicas=t.num_replicas,
                     num_groups=t.num_groups, num_nodes=t.num_nodes, num_gpus=t.num_gpus)
                for i, w in self._pairs]

    def probes(self) -> list[dict]:
        """Cheap inputs for functional hashing: two realistic loads and three edge cases.

        Full topology (so placements have their real shape) but 1-2 layers each,
        about 4% of a full evaluation's time. Edge cases exercise tie-breaking
        (uniform load), a single hot expert, and idle experts.
        """
        t = self.topology
        skewed, drifting = self._public[1][0, :2], self._public[2][1, 2:3]
        uniform = np.full((1, t.num_experts), 256, dtype=np.int64)
        hot = np.ones((1, t.num_experts), dtype=np.int64)
        hot[0, 5] = 10_000
        idle = np.where(np.arange(t.num_experts) % 3 == 0, 0,
                        np.arange(t.num_experts) * 7 + 1).astype(np.int64)[None, :]
        return [dict(weight=w, num_replicas=t.num_replicas, num_groups=t.num_groups,
                     num_nodes=t.num_nodes, num_gpus=t.num_gpus)
                for w in (skewed, drifting, uniform, hot, idle)]

    def score(self, outputs: list, seconds: list[float]) -> dict[str, float]:
        gpu_bal: dict[str, list[float]] = {s.name: [] for s in self.scenarios}
        node_bal = []
        for (i, w), out in zip(self._pairs, outputs, strict=True):
            name = self.scenarios[i].name
            try:
                phy2log, logcnt = validate_placement(out, self.topology)
            except InvalidPlacement as exc:
                raise ValueError(f"{name} window {w}: {exc}") from None
            per_gpu = gpu_loads(self._loads[i][w + 1], phy2log, logcnt, self.topology)
            gpu_bal[name].append(balancedness(per_gpu))
            node_bal.append(balancedness(node_loads(per_gpu, self.topology)))
        balance = float(np.mean([b for v in gpu_bal.values() for b in v]))
        call = float(np.mean(seconds))
        speed = 1.0 / (1.0 + max(0.0, call - TIME_BUDGET) / TIME_BUDGET)
        return {"score": balance * speed, "balancedness": balance,
                "node_balancedness": float(np.mean(node_bal)), "call_ms": call * 1000,
                "speed_factor": speed,
                **{f"balancedness_{k}": float(np.mean(v)) for k, v in gpu_bal.items()}}


def _derived(judging_seed: int, scenario: int) -> int:
    """One scenario's workload seed, from the run's judging seed."""
    return int(np.random.SeedSequence([judging_seed, scenario]).generate_state(1)[0])
