"""Baseline: round-robin placement in torch. Slot p holds expert p mod num_experts."""

import torch


def rebalance_experts(weight, num_replicas, num_groups, num_nodes, num_gpus):
    num_layers, num_experts = weight.shape
    phy2log = (torch.arange(num_replicas) % num_experts).repeat(num_layers, 1)
    logcnt = torch.stack([torch.bincount(row, minlength=num_experts) for row in phy2log])
    log2phy = torch.full((num_layers, num_experts, int(logcnt.max())), -1, dtype=torch.int64)
    for layer in range(num_layers):
        filled = torch.zeros(num_experts, dtype=torch.int64)
        for slot, expert in enumerate(phy2log[layer].tolist()):
            log2phy[layer, expert, filled[expert]] = slot
            filled[expert] += 1
    return phy2log, log2phy, logcnt
