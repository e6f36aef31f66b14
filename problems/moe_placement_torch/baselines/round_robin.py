"""Baseline: round-robin placement in torch. Slot p holds expert p mod num_experts."""

import torch


def rebalance_experts(weight, num_replicas, num_groups, num_nodes, num_gpus):
    num_layers, num_experts = weight.shape
    phy2log = (torch.arange(num_replicas) % num_experts).repeat(num_layers, 1)
    log2phy, logcnt = slots_of(phy2log, num_experts)
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
