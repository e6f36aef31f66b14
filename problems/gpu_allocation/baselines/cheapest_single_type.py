"""Baseline: every bucket on the one GPU type that serves them all most cheaply."""

import numpy as np


def allocate(rates, throughput, prices):
    best, choice = np.inf, 0
    for g in range(len(prices)):
        if (throughput[g] <= 0).any():
            continue  # this type cannot meet the SLO for some bucket
        cost = np.ceil((rates / throughput[g]).sum() - 1e-9) * prices[g]
        if cost < best:
            best, choice = cost, g
    return np.full(len(rates), choice, dtype=np.int64)
