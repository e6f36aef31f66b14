"""A GPU allocator for LLM serving: the evolvable region sends each request-size bucket
to a GPU type.

rates [buckets] are requests/s; throughput [types, buckets] the requests/s one GPU
of a type sustains within the SLO (0: it cannot); prices [types] $/hour. A type
serving buckets needs ceil(sum of rate / throughput) GPUs. Return an int array
[buckets] of GPU-type indices.
"""

import numpy as np


# EVOLVE-BLOCK-START
def allocate(rates, throughput, prices):
    """Each bucket on its cheapest type per request, then a few rounds of moving one
    bucket at a time to another type when that lowers the whole bill."""
    with np.errstate(divide="ignore"):
        per_request = np.where(throughput > 0, prices[:, None] / throughput, np.inf)
    assignment = per_request.argmin(axis=0)
    rounds = 1
    for _ in range(rounds):
        for b in range(len(rates)):
            best = bill(assignment, rates, throughput, prices)
            for g in np.flatnonzero(throughput[:, b] > 0):
                trial = assignment.copy()
                trial[b] = g
                if bill(trial, rates, throughput, prices) < best - 1e-9:
                    assignment, best = trial, bill(trial, rates, throughput, prices)
    return assignment


def bill(assignment, rates, throughput, prices):
    load = np.zeros(len(prices))
    np.add.at(load, assignment, rates / throughput[assignment, np.arange(len(rates))])
    return float(np.ceil(load - 1e-9) @ prices)
# EVOLVE-BLOCK-END
