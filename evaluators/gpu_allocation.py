"""Cost-aware GPU allocation for LLM serving (after Mélange, Griggs et al. 2024).

Requests are grouped into size buckets (input and output tokens), each with an
arrival rate. Every GPU type has a price and, per bucket, the request rate one
GPU of that type sustains within the service-level objective on time per
output token (0 where it cannot meet it at all). An allocation sends each
bucket to one GPU type; a type then needs ceil(sum of its buckets' rate /
throughput) GPUs, and the allocation costs the sum of those GPUs' prices.

Throughput profiles come from an analytic roofline model of serving a 7B model
in fp16 with continuous batching (decode is memory-bound: a step reads the
weights and the batch's KV cache; prefill is compute-bound), not from
measurements: the largest batch that fits in memory and keeps a decode step
within the SLO sets the rate.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

WEIGHTS_GB = 14.0  # a 7B model in fp16
KV_MB_PER_TOKEN = 0.5  # 32 layers x 2 x 4096 x 2 bytes
STEP_OVERHEAD_S = 0.002


@dataclass(frozen=True)
class Gpu:
    name: str
    price: float  # $/hour
    memory_gb: float
    bandwidth_gbs: float
    tflops: float  # dense fp16, of which half is reached in prefill


GPUS = (Gpu("L4", 0.70, 24.0, 300.0, 121.0), Gpu("A10G", 1.01, 24.0, 600.0, 125.0),
        Gpu("A100", 3.67, 80.0, 2039.0, 312.0), Gpu("H100", 7.52, 80.0, 3350.0, 989.0))


TTFT_S = 1.5  # time to first token: a prompt's prefill must fit in it


def throughput(gpu: Gpu, tokens_in: int, tokens_out: int, slo_s: float) -> float:
    """Requests/s one GPU sustains for this size within a decode step of `slo_s` and a
    prefill within TTFT_S; 0 where it cannot meet them."""
    kv = KV_MB_PER_TOKEN / 1000.0
    room = 0.9 * gpu.memory_gb - WEIGHTS_GB
    fits = int(room // (kv * (tokens_in + tokens_out))) if room > 0 else 0
    # a step reads the weights and every batched request's cache (half-way on average)
    per_request = kv * (tokens_in + tokens_out / 2)
    in_slo = int((slo_s - STEP_OVERHEAD_S) * gpu.bandwidth_gbs - WEIGHTS_GB) // per_request
    batch = min(fits, int(in_slo), 512)
    prefill = 2 * 7e9 * tokens_in / (0.5 * gpu.tflops * 1e12)
    if batch < 1 or prefill > TTFT_S:
        return 0.0
    step = STEP_OVERHEAD_S + (WEIGHTS_GB + batch * per_request) / gpu.bandwidth_gbs
    return 1.0 / (tokens_out * step / batch + prefill)


def cost(assignment, rates: np.ndarray, table: np.ndarray, prices: np.ndarray) -> float:
    """$/hour of an allocation; ValueError if it is none (wrong shape, a bucket on a GPU
    type that cannot serve it)."""
    a = np.asarray(assignment)
    if a.shape != rates.shape or a.dtype.kind not in "iu":
        raise ValueError(f"expected {len(rates)} integer GPU-type indices, got shape "
                         f"{a.shape} of {a.dtype}")
    if ((a < 0) | (a >= len(prices))).any():
        raise ValueError(f"a GPU-type index outside 0..{len(prices) - 1}")
    served = table[a, np.arange(len(rates))]
    if (served <= 0).any():
        b = int(np.flatnonzero(served <= 0)[0])
        raise ValueError(f"bucket {b} sent to a GPU type that cannot meet the SLO for it")
    return float(counts(a, rates, table, len(prices)) @ prices)


def counts(a: np.ndarray, rates: np.ndarray, table: np.ndarray, types: int) -> np.ndarray:
    """GPUs of each type an assignment needs."""
    load = np.zeros(types)
    np.add.at(load, a, rates / table[a, np.arange(len(rates))])
    return np.ceil(load - 1e-9)


def optimum(rates: np.ndarray, table: np.ndarray, prices: np.ndarray) -> float:
    """The exact minimum cost, by dynamic programming over sets of buckets: the best
    cost of serving set S with the first k types is the best split of S into the
    part type k serves and the rest (3^buckets splits per type; 12 buckets take
    about 0.1 s)."""
    n = len(rates)
    whole, part = _splits(n)
    bits = (np.arange(1 << n)[:, None] >> np.arange(n)) & 1  # the buckets in each set
    best = _type_costs(bits, rates, table, prices, 0)
    for g in range(1, len(prices)):
        own = _type_costs(bits, rates, table, prices, g)
        merged = np.full(1 << n, np.inf)
        np.minimum.at(merged, whole, best[whole ^ part] + own[part])
        best = merged
    return float(best[-1])


def _type_costs(bits, rates, table, prices, g) -> np.ndarray:
    """Cost of type g serving exactly each set of buckets (inf if it cannot serve one)."""
    can = table[g] > 0
    load = bits @ np.where(can, rates / np.where(can, table[g], 1.0), 0.0)
    feasible = (bits @ ~can) == 0
    return np.where(feasible, np.ceil(load - 1e-9) * prices[g], np.inf)


@functools.lru_cache(maxsize=4)
def _splits(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Every (set, subset of it) of n buckets, as bit masks: one per base-3 number."""
    code = np.arange(3 ** n, dtype=np.int64)
    whole, part = np.zeros_like(code), np.zeros_like(code)
    for b in range(n):
        digit = code % 3
        code //= 3
        whole |= (digit > 0).astype(np.int64) << b
        part |= (digit == 2).astype(np.int64) << b
    return whole, part


def lower_bound(rates: np.ndarray, table: np.ndarray, prices: np.ndarray) -> float:
    """No allocation costs less: each bucket at its cheapest price per request, no rounding."""
    with np.errstate(divide="ignore"):
        per_request = np.where(table > 0, prices[:, None] / table, np.inf)
    return float((rates * per_request.min(axis=0)).sum())


# --- instances ----------------------------------------------------------------------

SIZES_IN = (64, 256, 1024, 2048, 4096, 8192)
SIZES_OUT = (32, 128, 512)


def instance(buckets: int, total_rate: float, slo_s: float, rng: np.random.Generator):
    """(rates [buckets], throughput table [types, buckets], prices [types]): a random
    mix of request sizes whose rates sum to `total_rate` requests/s."""
    pairs = [(i, o) for i in SIZES_IN for o in SIZES_OUT]
    chosen = rng.choice(len(pairs), size=buckets, replace=False)
    sizes = [pairs[c] for c in chosen]
    rates = rng.dirichlet(np.full(buckets, 0.8)) * total_rate
    table = np.array([[throughput(g, i, o, slo_s) for i, o in sizes] for g in GPUS])
    return rates, table, np.array([g.price for g in GPUS])
