"""Baseline: spot until forced (the study's greedy policy).

Run on spot whenever it is there and wait when it is not, until the time left
only just covers the work left plus one restart; from then on, on-demand to
the end."""

import math

NONE, SPOT, ON_DEMAND = 0, 1, 2


class Policy:
    def __init__(self, job):
        self.job = job
        self.forced = False

    def decide(self, elapsed, done, overhead_left, cluster, has_spot):
        job = self.job
        ticks_left = math.floor((job.deadline - elapsed) / job.gap + 1e-9)
        # ticks needed on a fresh on-demand cluster, and one more in reserve
        need = math.ceil((job.duration - done + job.overhead) / job.gap - 1e-9) + 1
        if self.forced or need >= ticks_left:
            self.forced = True
            return ON_DEMAND
        return SPOT if has_spot else NONE
