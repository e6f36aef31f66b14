"""Baseline: DeepSeek EPLB's hierarchical greedy policy, written here in numpy.

1. Pack expert groups onto nodes, balancing group loads (each node gets the
   same number of groups).
2. Within each node, replicate: each spare slot goes to the expert with the
   highest load per replica.
3. Within each node, pack the replicas onto GPUs: heaviest first, each to the
   least-loaded GPU that still has a free slot.
If the groups do not divide evenly over the nodes, one global pass is used.
"""

import numpy as np


def balanced_packing(weight, num_packs):
    """Assign items [rows, items] to packs of equal item count; returns (pack, rank)."""
    rows, items = weight.shape
    per_pack = items // num_packs
    pack = np.empty((rows, items), dtype=np.int64)
    rank = np.empty((rows, items), dtype=np.int64)
    for i in range(rows):
        load = np.zeros(num_packs)
        count = np.zeros(num_packs, dtype=np.int64)
        for item in np.argsort(-weight[i], kind="stable"):
            open_packs = np.flatnonzero(count < per_pack)
            p = open_packs[np.argmin(load[open_packs])]
            pack[i, item], rank[i, item] = p, count[p]
            load[p] += weight[i, item]
            count[p] += 1
    return pack, rank


def replicate_experts(weight, num_phy):
    """Spread num_phy replicas over experts [rows, experts]: (phy2log, rank, logcnt)."""
    rows, experts = weight.shape
    phy2log = np.zeros((rows, num_phy), dtype=np.int64)
    rank = np.zeros((rows, num_phy), dtype=np.int64)
    logcnt = np.ones((rows, experts), dtype=np.int64)
    phy2log[:, :experts] = np.arange(experts)
    idx = np.arange(rows)
    for p in range(experts, num_phy):
        hot = np.argmax(weight / logcnt, axis=1)
        phy2log[:, p], rank[:, p] = hot, logcnt[idx, hot]
        logcnt[idx, hot] += 1
    return phy2log, rank, logcnt


def inverse(perm):
    inv = np.empty_like(perm)
    np.put_along_axis(inv, perm, np.arange(perm.shape[1])[None, :].repeat(len(perm), 0), 1)
    return inv


def hierarchical(weight, num_phy, num_groups, num_nodes, num_gpus):
    layers, experts = weight.shape
    group_size = experts // num_groups
    groups_per_node = num_groups // num_nodes
    phy_per_gpu = num_phy // num_gpus
    # 1. groups -> nodes
    group_load = weight.reshape(layers, num_groups, group_size).sum(-1)
    group_pack, group_rank = balanced_packing(group_load, num_nodes)
    first = (group_pack * groups_per_node + group_rank) * group_size
    log2mlog = (first[:, :, None] + np.arange(group_size)).reshape(layers, experts)
    mlog2log = inverse(log2mlog)
    # 2. replicate within each node
    node_load = np.take_along_axis(weight, mlog2log, 1).reshape(-1, experts // num_nodes)
    phy2mlog, phyrank, mlogcnt = replicate_experts(node_load, num_phy // num_nodes)
    # 3. replicas -> GPUs within each node
    phy_load = np.take_along_axis(node_load / mlogcnt, phy2mlog, 1)
    pack, rank = balanced_packing(phy_load, num_gpus // num_nodes)
    pphy2phy = inverse(pack * phy_per_gpu + rank)
    pphy2mlog = np.take_along_axis(phy2mlog, pphy2phy, 1).reshape(layers, num_nodes, -1)
    pphy2mlog = pphy2mlog + (np.arange(num_nodes) * (experts // num_nodes))[None, :, None]
    phy2log = np.take_along_axis(mlog2log, pphy2mlog.reshape(layers, -1), 1)
    phy_rank = np.take_along_axis(phyrank, pphy2phy, 1).reshape(layers, -1)
    logcnt = np.take_along_axis(mlogcnt.reshape(layers, -1), log2mlog, 1)
    return phy2log, phy_rank, logcnt


def rebalance_experts(weight, num_replicas, num_groups, num_nodes, num_gpus):
    weight = weight.astype(np.float64)
    if num_groups % num_nodes:
        num_groups, num_nodes = 1, 1
    phy2log, rank, logcnt = hierarchical(weight, num_replicas, num_groups, num_nodes, num_gpus)
    layers, experts = weight.shape
    log2phy = np.full((layers, experts, int(logcnt.max())), -1, dtype=np.int64)
    for layer in range(layers):
        log2phy[layer, phy2log[layer], rank[layer]] = np.arange(num_replicas)
    return phy2log, log2phy, logcnt
