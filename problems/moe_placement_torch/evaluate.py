"""Scorer for moe_placement_torch: the MoE expert-placement problem with torch candidates.

Judged exactly as moe_expert_placement (its Evaluator, reused: the same
workloads, private judging windows and score), but the candidate is written
in torch as DeepSeek's EPLB is: the sandbox's harness hands it `weight` as a
torch.Tensor and turns the tensors it returns into arrays. torch is the
problem's `preload`, so a warm sandbox imports it once per worker, not once per
candidate; it runs on one thread, so its CPU time is the call's.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

_SIBLING = Path(__file__).parents[1] / "moe_expert_placement" / "evaluate.py"
_spec = importlib.util.spec_from_file_location("adrs_moe_expert_placement_evaluate", _SIBLING)
_moe = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_moe)

HARNESS = '''
import numpy as np
import torch

torch.set_num_threads(1)  # the time budget is CPU time: threads would only add to it


def _array(value):
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def rebalance_experts(weight, num_replicas, num_groups, num_nodes, num_gpus):
    out = candidate.rebalance_experts(torch.from_numpy(weight), num_replicas, num_groups,
                                      num_nodes, num_gpus)
    if not isinstance(out, (tuple, list)):
        raise TypeError(f"rebalance_experts must return (phy2log, log2phy, logcnt), "
                        f"got {type(out).__name__}")
    return tuple(_array(v) for v in out)
'''


class Evaluator(_moe.Evaluator):
    harness = HARNESS
    preload = ("torch",)  # imported once per warm template; missing: fails at once, naming it

    def private(self, seed: int) -> Evaluator:
        """Judged on workloads drawn from `seed` (a run's, adrs.judging)."""
        return Evaluator(self.topology, self.scenarios, seed)
