"""Baseline: DeepSeek EPLB's hierarchical greedy policy, in torch as EPLB is written
(ported here from the numpy baseline of moe_expert_placement).

1. Pack expert groups onto nodes, balancing group loads.
2. Within each node, give each spare slot to the expert with the highest load per
   replica.
3. Within each node, pack replicas onto GPUs: heaviest first, to the least-loaded
   GPU with a free slot.
"""

import torch


def balanced_packing(weight, num_packs):
    """Assign items [rows, items] to packs of equal item count; returns (pack, rank)."""
    rows, items = weight.shape
    per_pack = items // num_packs
    pack = [[0] * items for _ in range(rows)]
    rank = [[0] * items for _ in range(rows)]
    order = torch.argsort(-weight, dim=1, stable=True).tolist()
    loads = weight.tolist()
    for i in range(rows):
        load = [0.0] * num_packs
        count = [0] * num_packs
        for item in order[i]:
            p = min((q for q in range(num_packs) if count[q] < per_pack), key=lambda q: load[q])
            pack[i][item], rank[i][item] = p, count[p]
            load[p] += loads[i][item]
            count[p] += 1
    return torch.tensor(pack), torch.tensor(rank)


def replicate_experts(weight, num_phy):
    """Spread num_phy replicas over experts [rows, experts]: (phy2log, rank, logcnt)."""
    rows, experts = weight.shape
    phy2log = torch.zeros((rows, num_phy), dtype=torch.int64)
    rank = torch.zeros((rows, num_phy), dtype=torch.int64)
    logcnt = torch.ones((rows, experts), dtype=torch.int64)
    phy2log[:, :experts] = torch.arange(experts)
    idx = torch.arange(rows)
    for p in range(experts, num_phy):
        hot = torch.argmax(weight / logcnt, dim=1)
        phy2log[:, p], rank[:, p] = hot, logcnt[idx, hot]
        logcnt[idx, hot] += 1
    return phy2log, rank, logcnt


def inverse(perm):
    inv = torch.empty_like(perm)
    inv.scatter_(1, perm, torch.arange(perm.shape[1]).expand(perm.shape[0], -1).contiguous())
    return inv


def hierarchical(weight, num_phy, num_groups, num_nodes, num_gpus):
    layers, experts = weight.shape
    group_size = experts // num_groups
    groups_per_node = num_groups // num_nodes
    phy_per_gpu = num_phy // num_gpus
    group_load = weight.reshape(layers, num_groups, group_size).sum(-1)
    group_pack, group_rank = balanced_packing(group_load, num_nodes)
    first = (group_pack * groups_per_node + group_rank) * group_size
    log2mlog = (first[:, :, None] + torch.arange(group_size)).reshape(layers, experts)
    mlog2log = inverse(log2mlog)
    node_load = weight.gather(1, mlog2log).reshape(-1, experts // num_nodes)
    phy2mlog, phyrank, mlogcnt = replicate_experts(node_load, num_phy // num_nodes)
    phy_load = (node_load / mlogcnt).gather(1, phy2mlog)
    pack, rank = balanced_packing(phy_load, num_gpus // num_nodes)
    pphy2phy = inverse(pack * phy_per_gpu + rank)
    pphy2mlog = phy2mlog.gather(1, pphy2phy).reshape(layers, num_nodes, -1)
    pphy2mlog = pphy2mlog + (torch.arange(num_nodes) * (experts // num_nodes))[None, :, None]
    phy2log = mlog2log.gather(1, pphy2mlog.reshape(layers, -1))
    phy_rank = phyrank.gather(1, pphy2phy).reshape(layers, -1)
    logcnt = mlogcnt.reshape(layers, -1).gather(1, log2mlog)
    return phy2log, phy_rank, logcnt


def rebalance_experts(weight, num_replicas, num_groups, num_nodes, num_gpus):
    weight = weight.double()
    if num_groups % num_nodes:
        num_groups, num_nodes = 1, 1
    phy2log, rank, logcnt = hierarchical(weight, num_replicas, num_groups, num_nodes, num_gpus)
    layers, experts = weight.shape
    log2phy = torch.full((layers, experts, int(logcnt.max())), -1, dtype=torch.int64)
    for layer in range(layers):
        log2phy[layer, phy2log[layer], rank[layer]] = torch.arange(num_replicas)
    return phy2log, log2phy, logcnt
