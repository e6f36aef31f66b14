"""Initial expert-placement policy in torch (EPLB's language): valid but weak."""

import torch


# EVOLVE-BLOCK-START
def place_replicas(weight, num_replicas, num_groups, num_nodes, num_gpus):
    """Return phy2log [layers, num_replicas]: the logical expert in each physical slot."""
    num_layers, num_experts = weight.shape
    slots_per_gpu = num_replicas // num_gpus
    phy2log = torch.zeros((num_layers, num_replicas), dtype=torch.int64)
    for layer in range(num_layers):
        load = weight[layer].double()
        # Every expert gets one replica; spare slots go one at a time.
        counts = torch.ones(num_experts, dtype=torch.int64)
        for _ in range(num_replicas - num_experts):
            counts[torch.argmin(load / counts)] += 1
        replica_expert = torch.repeat_interleave(torch.arange(num_experts), counts)
        replica_load = load[replica_expert] / counts[replica_expert]
        # Assign replicas to GPUs one by one, each GPU holding slots_per_gpu slots.
        gpu_load = [0.0] * num_gpus
        gpu_free = [slots_per_gpu] * num_gpus
        slot = [0] * len(replica_expert)
        shares = replica_load.tolist()
        for r in torch.argsort(replica_load * 1.0, stable=True).tolist():
            open_gpus = [g for g in range(num_gpus) if gpu_free[g] > 0]
            gpu = max(open_gpus, key=lambda g: gpu_load[g] * 0.5)
            slot[r] = gpu * slots_per_gpu + slots_per_gpu - gpu_free[gpu]
            gpu_free[gpu] -= 1
            gpu_load[gpu] += shares[r]
        phy2log[layer, torch.tensor(slot)] = replica_expert
    return phy2log
# EVOLVE-BLOCK-END


def rebalance_experts(weight, num_replicas, num_groups, num_nodes, num_gpus):
    """Entry point: derive (phy2log, log2phy, logcnt) from the evolved placement."""
    phy2log = place_replicas(weight, num_replicas, num_groups, num_nodes, num_gpus)
    log2phy, logcnt = slots_of(phy2log, weight.shape[1])
    return phy2log, log2phy, logcnt


def slots_of(phy2log, num_experts):
    """(log2phy, logcnt) from phy2log, vectorised: each expert's slots in slot order."""
    layers, slots = phy2log.shape
    logcnt = torch.zeros((layers, num_experts), dtype=torch.int64)
    logcnt.scatter_add_(1, phy2log, torch.ones_like(phy2log))
    order = torch.argsort(phy2log, dim=1, stable=True)
    experts = phy2log.gather(1, order)
    first = (torch.cumsum(logcnt, 1) - logcnt).gather(1, experts)
    rank = torch.arange(slots).expand(layers, -1) - first
    log2phy = torch.full((layers, num_experts, max(1, int(logcnt.max()))), -1,
                         dtype=torch.int64)
    log2phy[torch.arange(layers)[:, None], experts, rank] = order
    return log2phy, logcnt
