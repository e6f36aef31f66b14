"""Transaction scheduling: order a batch of transactions to minimise its makespan.

Each transaction has a duration and read and write sets over the database's
keys. Two transactions conflict when one writes a key the other reads or
writes. A schedule is an order; it runs on `threads` worker threads as a
conflict-ordered list schedule (as a lock manager granting locks in that order
would): each transaction, in order, starts on the thread that frees first,
once every earlier transaction it conflicts with has finished. The makespan is
the last finish time.

Lower bound (no schedule does better): the longest transaction, the work
divided among the threads, and, per key, the total time of its writers (a
key's writers run one at a time, in any order).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Batch:
    reads: np.ndarray  # bool [transactions, keys]
    writes: np.ndarray  # bool [transactions, keys]; a written key is not also "read"
    durations: np.ndarray  # int64 [transactions], time units
    threads: int

    def __len__(self) -> int:
        return len(self.durations)


def makespan(batch: Batch, order) -> int:
    """The makespan of running `batch` in `order` (a permutation of its transactions)."""
    free = [0] * batch.threads  # heap of the times threads become free
    written = np.zeros(batch.reads.shape[1], dtype=np.int64)  # last writer's finish, per key
    read = np.zeros_like(written)  # latest finish of a reader since that write
    end = 0
    for i in order:
        touched = batch.reads[i] | batch.writes[i]
        ready = max(int(written[touched].max(initial=0)),
                    int(read[batch.writes[i]].max(initial=0)))
        start = max(heapq.heappop(free), ready)
        finish = start + int(batch.durations[i])
        heapq.heappush(free, finish)
        written[batch.writes[i]] = finish
        read[batch.writes[i]] = finish
        read[batch.reads[i]] = np.maximum(read[batch.reads[i]], finish)
        end = max(end, finish)
    return end


def lower_bound(batch: Batch) -> int:
    d = batch.durations
    per_key = (batch.writes * d[:, None]).sum(axis=0)
    return int(max(d.max(), -(-d.sum() // batch.threads), per_key.max(initial=0)))


def check_order(order, n: int) -> list[int]:
    """The order as a list of ints, or ValueError saying why it is none."""
    arr = np.asarray(order)
    if arr.shape != (n,) or arr.dtype.kind not in "iu":
        raise ValueError(f"expected a permutation of range({n}) as {n} integers, got "
                         f"shape {arr.shape} of {arr.dtype}")
    if not np.array_equal(np.sort(arr), np.arange(n)):
        raise ValueError(f"the order is not a permutation of range({n}): it repeats or "
                         "leaves out transactions")
    return arr.tolist()


# --- workloads ----------------------------------------------------------------------

@dataclass(frozen=True)
class Workload:
    name: str
    transactions: int
    keys: int
    zipf: float  # key popularity exponent: 0 uniform, higher concentrates on hot keys
    ops: tuple[int, int]  # keys touched per transaction, inclusive range
    write_share: float  # share of touched keys written
    threads: int


WORKLOADS = (
    Workload("uniform", 120, 1000, 0.0, (4, 12), 0.5, 8),
    Workload("hot", 120, 300, 1.1, (2, 8), 0.4, 8),
    Workload("read_mostly", 120, 500, 0.9, (4, 16), 0.1, 8),
)


def batch(w: Workload, rng: np.random.Generator) -> Batch:
    weights = 1.0 / np.arange(1, w.keys + 1) ** w.zipf
    weights /= weights.sum()
    keys = rng.permutation(w.keys)  # which keys are hot differs per batch
    reads = np.zeros((w.transactions, w.keys), dtype=bool)
    writes = np.zeros_like(reads)
    for i in range(w.transactions):
        k = int(rng.integers(w.ops[0], w.ops[1] + 1))
        touched = keys[rng.choice(w.keys, size=k, replace=False, p=weights)]
        written = rng.random(k) < w.write_share
        writes[i, touched[written]] = True
        reads[i, touched[~written]] = True
    durations = rng.integers(1, 11, size=w.transactions).astype(np.int64)
    return Batch(reads, writes, durations, w.threads)
