"""Speculative decoding length under load (after SmartSpec, Liu et al. 2024).

A serving system runs continuous batching: requests arrive (Poisson), join the
running batch (at most MAX_BATCH), and leave when their output is complete.
Each step, a small draft model proposes k tokens per request and the target
model verifies them all in one pass. A request accepts its draft tokens one by
one while each matches (with its own, unknown acceptance probability) and
always gains one token from the target, so a step yields 1 + accepted tokens
per request. Speculating is nearly free in a small batch (the target's pass is
memory-bound) and costly in a large one (it verifies batch x (k+1) tokens):

    step time = DRAFT_S x k x (1 + batch / 32) + TARGET_S + VERIFY_S x batch x (k + 1)

The policy picks k for each step from the batch size and the system's running
estimate of the acceptance probability of a draft token (an exponential
average, over steps that speculate, of accepted / (accepted + rejected): the
estimate of a geometric run's success probability; kept by the simulator).
It is a function of those two numbers only, so it is tabulated once on a grid
(batch 1..MAX_BATCH, acceptance in steps of 0.01) and the simulation reads
the table.

Random draws are common to every policy: each request has one uniform number
per output position, and a draft token at a position is accepted iff that
number is below the request's acceptance probability.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_BATCH = 48
MAX_K = 8
DRAFT_S, TARGET_S, VERIFY_S = 0.0012, 0.018, 0.00022
GRID = np.round(np.arange(0, 101) / 100, 2)  # acceptance estimates the table is read at
EMA = 0.1  # weight of a step in the acceptance estimate


@dataclass(frozen=True)
class Workload:
    name: str
    rate: float  # requests/s
    requests: int
    mean_output: float  # tokens
    acceptance: tuple[float, float]  # Beta(a, b) of the per-request acceptance probability


def step_seconds(batch: int, k) -> np.ndarray:
    k = np.asarray(k)
    return DRAFT_S * k * (1 + batch / 32) + TARGET_S + VERIFY_S * batch * (k + 1)


def draw(w: Workload, rng: np.random.Generator) -> dict:
    """A workload's requests: arrival times, output lengths, acceptance probabilities,
    and the uniform numbers that decide each position's draft token."""
    arrivals = np.cumsum(rng.exponential(1.0 / w.rate, w.requests))
    lengths = np.maximum(8, rng.geometric(1.0 / w.mean_output, w.requests)).astype(np.int64)
    alpha = rng.beta(*w.acceptance, w.requests)
    uniforms = rng.random((w.requests, int(lengths.max()) + MAX_K + 1))
    return {"arrivals": arrivals, "lengths": lengths, "alpha": alpha, "uniforms": uniforms}


def simulate(requests: dict, table: np.ndarray) -> dict:
    """Run the workload with k = table[batch - 1, estimate index]; returns the mean
    latency (arrival to last token), tokens per second, and the mean k used."""
    arrivals, lengths = requests["arrivals"], requests["lengths"]
    alpha, uniforms = requests["alpha"], requests["uniforms"]
    n = len(arrivals)
    done = np.zeros(n, dtype=np.int64)
    finish = np.full(n, np.nan)
    queue, running = 0, np.zeros(0, dtype=np.int64)  # next arrival to admit; batch
    now, estimate, steps, ks = 0.0, 0.5, 0, 0
    while queue < n or running.size:
        while queue < n and arrivals[queue] <= now and running.size < MAX_BATCH:
            running = np.append(running, queue)
            queue += 1
        if not running.size:
            now = arrivals[queue]
            continue
        b = running.size
        k = int(table[b - 1, int(round(estimate * 100))])
        u = uniforms[running[:, None], done[running][:, None] + np.arange(k)[None, :]]
        ok = u < alpha[running][:, None]
        accepted = np.where(ok.all(axis=1), k, ok.argmin(axis=1)) if k else np.zeros(b, int)
        now += float(step_seconds(b, k))
        done[running] = np.minimum(done[running] + accepted + 1, lengths[running])
        if k:  # the per-token acceptance probability: accepted / (accepted + rejections)
            hits = float(accepted.sum())
            estimate = (1 - EMA) * estimate + EMA * hits / (hits + float((accepted < k).sum()))
        left = done[running] >= lengths[running]
        finish[running[left]] = now
        running = running[~left]
        steps, ks = steps + 1, ks + k
    latency = finish - arrivals
    return {"latency": float(latency.mean()), "tokens_per_s": float(lengths.sum() / now),
            "mean_k": ks / steps}


def check_table(table) -> np.ndarray:
    """The policy's table as ints in 0..MAX_K, or ValueError saying why it is none."""
    arr = np.asarray(table)
    shape = (MAX_BATCH, len(GRID))
    if arr.shape != shape or arr.dtype.kind not in "iu":
        raise ValueError(f"expected integer k for every (batch, acceptance) point, shape "
                         f"{shape}, got shape {arr.shape} of {arr.dtype}")
    if ((arr < 0) | (arr > MAX_K)).any():
        raise ValueError(f"every k must be in 0..{MAX_K}")
    return arr.astype(np.int64)


# Runs in the sandbox beside the candidate, as the problem's harness.
HARNESS = f"MAX_BATCH, MAX_K = {MAX_BATCH}, {MAX_K}\n" + '''
import numpy as np

GRID = np.round(np.arange(0, 101) / 100, 2)


def tabulate():
    """The candidate's choose_k at every batch size and acceptance estimate."""
    table = np.zeros((MAX_BATCH, len(GRID)), dtype=np.int64)
    for b in range(1, MAX_BATCH + 1):
        for j, a in enumerate(GRID.tolist()):
            k = candidate.choose_k(b, a)
            if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) \\
                    or not 0 <= k <= MAX_K:
                raise ValueError(f"choose_k({b}, {a}) returned {k!r}; return an int in "
                                 f"0..{MAX_K}")
            table[b - 1, j] = k
    return table
'''
