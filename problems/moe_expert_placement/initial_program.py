"""Initial expert-placement policy: valid but weak, for the search to improve."""

import numpy as np


# EVOLVE-BLOCK-START
def place_replicas(weight, num_replicas, num_groups, num_nodes, num_gpus):
    """Return phy2log [layers, num_replicas]: the logical expert in each physical slot."""
    num_layers, num_experts = weight.shape
    slots_per_gpu = num_replicas // num_gpus
    phy2log = np.zeros((num_layers, num_replicas), dtype=np.int64)
    for layer in range(num_layers):
        load = weight[layer].astype(np.float64)
        # Every expert gets one replica; spare slots go one at a time.
        counts = np.ones(num_experts, dtype=np.int64)
        for _ in range(num_replicas - num_experts):
            counts[np.argmin(load / counts)] += 1
        replica_expert = np.repeat(np.arange(num_experts), counts)
        replica_load = load[replica_expert] / counts[replica_expert]
        # Assign replicas to GPUs one by one, each GPU holding slots_per_gpu slots.
        gpu_load = np.zeros(num_gpus)
        gpu_free = np.full(num_gpus, slots_per_gpu)
        slot = np.zeros(len(replica_expert), dtype=np.int64)
        for r in np.argsort(replica_load * 1.0, kind="stable"):
            open_gpus = np.flatnonzero(gpu_free > 0)
            gpu = open_gpus[np.argmax(gpu_load[open_gpus] * 0.5)]
            slot[r] = gpu * slots_per_gpu + slots_per_gpu - gpu_free[gpu]
            gpu_free[gpu] -= 1
            gpu_load[gpu] += replica_load[r]
        phy2log[layer, slot] = replica_expert
    return phy2log
# EVOLVE-BLOCK-END


def rebalance_experts(weight, num_replicas, num_groups, num_nodes, num_gpus):
    """Entry point: derive (phy2log, log2phy, logcnt) from the evolved placement."""
    phy2log = place_replicas(weight, num_replicas, num_groups, num_nodes, num_gpus)
    num_layers, num_experts = weight.shape
    logcnt = np.stack([np.bincount(row, minlength=num_experts) for row in phy2log])
    log2phy = np.full((num_layers, num_experts, max(1, int(logcnt.max()))), -1, np.int64)
    for layer in range(num_layers):
        filled = np.zeros(num_experts, dtype=np.int64)
        for slot, expert in enumerate(phy2log[layer]):
            log2phy[layer, expert, filled[expert]] = slot
            filled[expert] += 1
    return phy2log, log2phy, logcnt
