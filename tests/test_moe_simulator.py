"""The MoE placement simulator on hand-made placements with known answers."""

import numpy as np
import pytest

from evaluators.moe_placement import (
    SCENARIOS,
    InvalidPlacement,
    Topology,
    balancedness,
    expert_loads,
    gpu_loads,
    node_loads,
    validate_placement,
)

# 4 experts, 6 slots on 2 GPUs (3 slots each), 2 nodes of 1 GPU, 2 layers
T = Topology(num_layers=2, num_experts=4, num_replicas=6, num_groups=2, num_nodes=2, num_gpus=2)


def placement(phy2log):
    phy2log = np.asarray(phy2log, dtype=np.int64)
    layers, _ = phy2log.shape
    logcnt = np.stack([np.bincount(r, minlength=T.num_experts) for r in phy2log])
    log2phy = np.full((layers, T.num_experts, logcnt.max()), -1, dtype=np.int64)
    for layer in range(layers):
        fill = np.zeros(T.num_experts, dtype=int)
        for slot, e in enumerate(phy2log[layer]):
            log2phy[layer, e, fill[e]] = slot
            fill[e] += 1
    return phy2log, log2phy, logcnt


def test_gpu_loads_split_an_expert_evenly_over_its_replicas():
    load = np.array([[60, 10, 10, 20], [25, 25, 25, 25]])
    # layer 0: GPU0 holds experts 0,0,1 ; GPU1 holds 0,2,3 -> expert 0 has 3 replicas
    phy2log, _, logcnt = placement([[0, 0, 1, 0, 2, 3], [0, 1, 2, 3, 0, 1]])
    per_gpu = gpu_loads(load, phy2log, logcnt, T)
    np.testing.assert_allclose(per_gpu[0], [20 + 20 + 10, 20 + 10 + 20])
    np.testing.assert_allclose(per_gpu[1], [12.5 + 12.5 + 25, 25 + 12.5 + 12.5])


def test_balancedness_is_mean_over_max_averaged_over_layers():
    per_gpu = np.array([[50.0, 50.0], [30.0, 10.0]])
    assert balancedness(per_gpu) == pytest.approx((1.0 + 20 / 30) / 2)


def test_node_loads_sum_the_gpus_of_each_node():
    t = Topology(num_layers=1, num_experts=4, num_replicas=4, num_groups=2, num_nodes=2,
                 num_gpus=4)
    np.testing.assert_allclose(node_loads(np.array([[1.0, 2.0, 3.0, 4.0]]), t), [[3.0, 7.0]])


@pytest.mark.parametrize("bad, reason", [
    (lambda p: (p[0][:, :5], p[1], p[2]), "phy2log has shape"),
    (lambda p: (np.where(p[0] == 3, 2, p[0]), p[1], p[2]), "no replica"),
    (lambda p: (p[0], p[1], p[2] + 1), "logcnt does not match"),
    (lambda p: (p[0].astype(float), p[1], p[2]), "must hold integers"),
    (lambda p: (p[0], np.roll(p[1], 1, axis=1), p[2]), "log2phy"),
    (lambda p: (p[0],), "expected a tuple"),
])
def test_invalid_placements_are_rejected_with_a_reason(bad, reason):
    good = placement([[0, 1, 2, 3, 0, 1], [0, 1, 2, 3, 2, 3]])
    validate_placement(good, T)
    with pytest.raises(InvalidPlacement, match=reason):
        validate_placement(bad(good), T)


def test_workloads_are_seeded_and_drift_between_windows():
    t = Topology()
    a, b = expert_loads(t, SCENARIOS[2]), expert_loads(t, SCENARIOS[2])
    np.testing.assert_array_equal(a, b)
    assert a.shape == (SCENARIOS[2].windows, t.num_layers, t.num_experts)
    assert (a.sum(axis=2) == SCENARIOS[2].tokens).all()
    assert not np.array_equal(a[0], a[1])
