"""Mixture-of-Experts expert-placement simulator, pure numpy.

Models the problem solved by DeepSeek's EPLB: each MoE layer has `num_experts`
logical experts whose token loads are skewed and drift over time. A placement
maps `num_replicas` physical slots (spread evenly over `num_gpus`) to logical
experts; an expert with k replicas splits its tokens evenly over them. A
placement is computed from one window's loads and judged on the next window's,
because in serving the placement is always a little out of date.

This module knows nothing about evolution: it generates workloads, checks
placements and measures balance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class InvalidPlacement(ValueError):
    """A placement that breaks the contract (shape, range, coverage, consistency)."""


@dataclass(frozen=True)
class Topology:
    num_layers: int = 6
    num_experts: int = 64
    num_replicas: int = 80
    num_groups: int = 8
    num_nodes: int = 2
    num_gpus: int = 8

    @property
    def slots_per_gpu(self) -> int:
        return self.num_replicas // self.num_gpus


@dataclass(frozen=True)
class Scenario:
    """A synthetic workload: per-layer lognormal expert popularity with drift."""

    name: str
    seed: int
    skew: float  # std of log-popularity across experts
    drift: float  # std of the per-window change in log-popularity
    tokens: int = 16384  # tokens routed per layer per window
    windows: int = 6  # placed on 0, 2, 4; judged on 1, 3, 5


SCENARIOS = (
    Scenario("steady", seed=11, skew=0.8, drift=0.1),
    Scenario("skewed", seed=23, skew=1.5, drift=0.15),
    Scenario("drifting", seed=37, skew=1.0, drift=0.5),
)


def expert_loads(topology: Topology, scenario: Scenario) -> np.ndarray:
    """Token counts per window, layer and expert: int64 [windows, layers, experts]."""
    rng = np.random.default_rng(scenario.seed)
    shape = (topology.num_layers, topology.num_experts)
    log_pop = rng.normal(0.0, scenario.skew, shape)
    loads = np.empty((scenario.windows, *shape), dtype=np.int64)
    for w in range(scenario.windows):
        if w:
            log_pop = log_pop + rng.normal(0.0, scenario.drift, shape)
        p = np.exp(log_pop - log_pop.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        for layer in range(topology.num_layers):
            loads[w, layer] = rng.multinomial(scenario.tokens, p[layer])
    return loads


def validate_placement(placement, topology: Topology) -> tuple[np.ndarray, np.ndarray]:
    """Check a (phy2log, log2phy, logcnt) triple; return (phy2log, logcnt) as int64.

    Raises InvalidPlacement with a one-line reason naming what is wrong.
    """
    if not isinstance(placement, (tuple, list)) or len(placement) != 3:
        raise InvalidPlacement("expected a tuple (phy2log, log2phy, logcnt)")
    phy2log, log2phy, logcnt = (np.asarray(a) for a in placement)
    t = topology
    _check_int_array("phy2log", phy2log, (t.num_layers, t.num_replicas))
    _check_int_array("logcnt", logcnt, (t.num_layers, t.num_experts))
    if log2phy.ndim != 3 or log2phy.shape[:2] != (t.num_layers, t.num_experts):
        raise InvalidPlacement(
            f"log2phy has shape {log2phy.shape}, expected "
            f"({t.num_layers}, {t.num_experts}, max_replicas)"
        )
    _check_int_array("log2phy", log2phy, log2phy.shape)
    phy2log, logcnt, log2phy = (a.astype(np.int64) for a in (phy2log, logcnt, log2phy))
    if phy2log.min() < 0 or phy2log.max() >= t.num_experts:
        raise InvalidPlacement(f"phy2log values must lie in [0, {t.num_experts})")
    counts = np.stack([np.bincount(row, minlength=t.num_experts) for row in phy2log])
    if (counts == 0).any():
        layer, expert = np.argwhere(counts == 0)[0]
        raise InvalidPlacement(f"expert {expert} of layer {layer} has no replica")
    if not np.array_equal(counts, logcnt):
        raise InvalidPlacement("logcnt does not match the replica counts in phy2log")
    _check_log2phy(log2phy, phy2log, logcnt)
    return phy2log, logcnt


def _check_int_array(name: str, a: np.ndarray, shape: tuple) -> None:
    if a.shape != tuple(shape):
        raise InvalidPlacement(f"{name} has shape {a.shape}, expected {tuple(shape)}")
    if a.dtype.kind not in "iu":
        raise InvalidPlacement(f"{name} must hold integers, got dtype {a.dtype}")


def _check_log2phy(log2phy: np.ndarray, phy2log: np.ndarray, logcnt: np.ndarray) -> None:
    """Each expert lists exactly its own replicas' slots, padded with -1."""
    num_layers, num_experts, width = log2phy.shape
    if width < logcnt.max():
        raise InvalidPlacement("log2phy is narrower than the largest replica count")
    valid = log2phy >= 0
    if not np.array_equal(valid.sum(axis=2), logcnt):
        raise InvalidPlacement("log2phy lists a different number of replicas than logcnt")
    if log2phy.max() >= phy2log.shape[1]:
        raise InvalidPlacement("log2phy names a physical slot that does not exist")
    layers, experts, _ = np.nonzero(valid)
    if not np.array_equal(phy2log[layers, log2phy[valid]], experts):
        raise InvalidPlacement("log2phy and phy2log disagree about which expert a slot holds")


def gpu_loads(load: np.ndarray, phy2log: np.ndarray, logcnt: np.ndarray, topology: Topology):
    """Tokens per GPU, [layers, gpus], when each expert splits its load over its replicas."""
    rows = np.arange(load.shape[0])[:, None]
    per_slot = load[rows, phy2log] / logcnt[rows, phy2log]
    return per_slot.reshape(load.shape[0], topology.num_gpus, topology.slots_per_gpu).sum(axis=2)


def balancedness(per_device_load: np.ndarray) -> float:
    """Mean over layers of mean/max device load: 1.0 is perfect balance."""
    peak = per_device_load.max(axis=1)
    return float(np.mean(per_device_load.mean(axis=1) / np.maximum(peak, 1e-12)))


def node_loads(per_gpu: np.ndarray, topology: Topology) -> np.ndarray:
    gpus_per_node = topology.num_gpus // topology.num_nodes
    return per_gpu.reshape(per_gpu.shape[0], topology.num_nodes, gpus_per_node).sum(axis=2)
