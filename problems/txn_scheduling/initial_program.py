"""A transaction scheduler: the evolvable region orders a batch to minimise makespan.

reads and writes are bool arrays [transactions, keys]; durations int [transactions];
threads the number of worker threads. Return a permutation of range(transactions).
"""

import numpy as np


# EVOLVE-BLOCK-START
def schedule(reads, writes, durations, threads):
    """Most contended first: transactions touching popular keys, longest first."""
    touched = reads | writes
    popularity = writes.sum(axis=0) * 2.0 + reads.sum(axis=0) * 0.5
    contention = (touched * popularity).sum(axis=1)
    priority = contention * 1.0 + durations * 0.5
    return np.argsort(-priority, kind="stable")
# EVOLVE-BLOCK-END
