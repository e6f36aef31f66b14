"""Baseline: greedy shortest-makespan-first (the ADRS study's transaction baseline).

Build the order one transaction at a time, always appending the one that would
finish earliest given the ones already placed (ties: the shorter one), by the
same list-schedule rule the simulator uses."""

import heapq

import numpy as np


def schedule(reads, writes, durations, threads):
    n = len(durations)
    touched = reads | writes
    written = np.zeros(reads.shape[1], dtype=np.int64)
    read = np.zeros_like(written)
    free = [0] * threads
    left = np.ones(n, dtype=bool)
    order = []
    for _ in range(n):
        ready = np.maximum((touched * written).max(axis=1), (writes * read).max(axis=1))
        finish = np.maximum(ready, free[0]) + durations
        finish = np.where(left, finish, np.iinfo(np.int64).max)
        best = np.flatnonzero(finish == finish.min())
        i = int(best[np.argmin(durations[best])])
        order.append(i)
        left[i] = False
        f = max(heapq.heappop(free), int(ready[i])) + int(durations[i])
        heapq.heappush(free, f)
        written[writes[i]] = f
        read[writes[i]] = f
        read[reads[i]] = np.maximum(read[reads[i]], f)
    return np.array(order)
