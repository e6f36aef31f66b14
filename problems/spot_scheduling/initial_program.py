"""A spot-instance policy for a job with a deadline: the evolvable region is Policy.

Each tick (job.gap hours) decide() picks what runs next: SPOT (cheap, only while
available), ON_DEMAND (dear, always available) or NONE (wait). Starting or
switching a cluster costs job.overhead hours of paid restart. Miss the deadline
and the job scores -1.
"""

NONE, SPOT, ON_DEMAND = 0, 1, 2


# EVOLVE-BLOCK-START
class Policy:
    """Spot when it is there; when it is not, on-demand unless the slack is plentiful."""

    def __init__(self, job):
        self.job = job  # duration, deadline, overhead, gap: hours

    def decide(self, elapsed, done, overhead_left, cluster, has_spot):
        job = self.job
        slack = job.deadline - elapsed - (job.duration - done) - overhead_left
        if slack < 0.5 + job.overhead:  # one more restart could make it late
            return ON_DEMAND
        if has_spot:
            return SPOT
        if slack < 30.0:
            return ON_DEMAND
        return NONE
# EVOLVE-BLOCK-END
