"""Scorer for spot_scheduling: trusted code, runs in the controller.

The sandbox runs the harness (evaluators/spot_scheduling.py), which simulates
every job tick by tick and asks the candidate's Policy, in a process of its own
that never holds a future tick, for each decision; it returns the decisions.
Here they are replayed on the same traces to get each job's cost and whether
it met its deadline, so no number measured in the sandbox is believed.

Jobs: 48 hours of work; deadlines of 52 h (tight) and 70 h (loose); restart
overheads of 0.05 h and 0.2 h; spot availability traces from three regimes
(stable, bursty, scarce), TRACES of each per setting. Per job: the share of the
always-on-demand cost saved (at best 1 - 0.97/3.06 = 0.68 on spot throughout),
or MISSED (-1) for a missed deadline. score = the mean over jobs. In a run the
traces come from the run's private judging seed (adrs.judging), so a policy
cannot be fitted to them; `adrs eval` uses the public SEED.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from evaluators import spot_scheduling as sim

SEED = 0
DURATION = 48.0
DEADLINES = {"tight": 52.0, "loose": 70.0}
OVERHEADS = (0.05, 0.2)
TRACES = 3  # per regime, deadline and overhead: 36 jobs
MISSED = -1.0  # a missed deadline: worse than paying on-demand all the way


class Evaluator:
    entrypoint = "schedule"
    harness = Path(sim.__file__).read_text()
    probe_rtol = 1e-6  # decisions are integers
    volatile_metrics = ("seconds",)

    def __init__(self, seed: int = SEED):
        self.seed = seed  # of the traces: public SEED, or a run's judging seed
        self.labels, jobs, traces = [], [], []
        hours = max(DEADLINES.values())
        for r, regime in enumerate(sim.REGIMES):
            for d, (slack, deadline) in enumerate(DEADLINES.items()):
                for o, overhead in enumerate(OVERHEADS):
                    for k in range(TRACES):
                        rng = np.random.default_rng([seed, r, d, o, k])
                        traces.append(sim.trace(regime, hours, sim.GAP, rng))
                        jobs.append((DURATION, deadline, overhead, sim.GAP))
                        self.labels.append((regime, slack))
        self.available, self.jobs = np.array(traces), np.array(jobs)

    def private(self, seed: int) -> Evaluator:
        """Judged on traces drawn from `seed` (a run's, adrs.judging), not the public ones."""
        return Evaluator(seed)

    def cases(self) -> list[dict]:
        return [{"available": self.available, "jobs": self.jobs}]

    def probes(self) -> list[dict]:
        """Jobs at the full range of slack (1 to 30 hours) on fixed traces of every
        regime, in hour-long ticks so they take 60 decisions at most: a policy's
        thresholds show in them as they do in the judged jobs, at a tenth of the cost."""
        rng = np.random.default_rng(20261202)
        jobs, traces = [], []
        for regime in sim.REGIMES:
            for slack, overhead in ((30.0, 0.2), (12.0, 0.5), (4.0, 1.0)):
                jobs.append((30.0, 30.0 + slack, overhead, 1.0))
                traces.append(sim.trace(regime, 60.0, 1.0, rng))
        return [{"available": np.array(traces), "jobs": np.array(jobs)}]

    def score(self, outputs: list, seconds: list[float]) -> dict[str, float]:
        (log,) = outputs
        run = sim.replay(self.available, self.jobs, log)
        saved = 1.0 - run.cost / sim.on_demand_cost(self.jobs)
        per_job = np.where(run.met(), saved, MISSED)
        metrics = {"score": float(per_job.mean()), "missed": float((~run.met()).sum()),
                   "mean_cost": float(run.cost.mean()), "seconds": float(sum(seconds))}
        for group in [*sim.REGIMES, *DEADLINES]:
            rows = [group in label for label in self.labels]
            metrics[f"saved_{group}"] = float(per_job[rows].mean())
        return metrics
