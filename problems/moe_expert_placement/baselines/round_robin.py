"""Baseline: round-robin placement. Slot p holds expert p mod num_experts, ignoring load."""

import numpy as np


def rebalance_experts(weight, num_replicas, num_groups, num_nodes, num_gpus):
    num_layers, num_experts = weight.shape
    phy2log = np.tile(np.arange(num_replicas) % num_experts, (num_layers, 1)).astype(np.int64)
    logcnt = np.stack([np.bincount(row, minlength=num_experts) for row in phy2log])
    log2phy = np.full((num_layers, num_experts, int(logcnt.max())), -1, np.int64)
    for layer in range(num_layers):
        filled = np.zeros(num_experts, dtype=np.int64)
        for slot, expert in enumerate(phy2log[layer]):
            log2phy[layer, expert, filled[expert]] = slot
            filled[expert] += 1
    return phy2log, log2phy, logcnt
