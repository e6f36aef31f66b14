"""Baseline: Uniform Progress (Wu et al., NSDI '24).

Spot whenever it is there; when it is not, on-demand only while the job is
behind the straight line from no work at the start to all of it at the
deadline, otherwise wait. Near the deadline, on-demand to the end as greedy
does."""

import math

NONE, SPOT, ON_DEMAND = 0, 1, 2


class Policy:
    def __init__(self, job):
        self.job = job
        self.forced = False

    def decide(self, elapsed, done, overhead_left, cluster, has_spot):
        job = self.job
        ticks_left = math.floor((job.deadline - elapsed) / job.gap + 1e-9)
        need = math.ceil((job.duration - done + job.overhead) / job.gap - 1e-9) + 1
        if self.forced or need >= ticks_left:
            self.forced = True
            return ON_DEMAND
        if has_spot:
            return SPOT
        behind = done < job.duration * (elapsed + job.gap) / job.deadline
        return ON_DEMAND if behind else NONE
