"""The torch variant of the MoE problem: torch candidates, torch preloaded, judged as the
numpy problem is."""

import re
from pathlib import Path

import pytest
from problem_checks import evaluated, offline_gain

from adrs.problem import find_problem

pytest.importorskip("torch")

ROOT = Path(__file__).parents[1]
TORCH_DIR = ROOT / "problems" / "moe_placement_torch"
NUMPY_DIR = ROOT / "problems" / "moe_expert_placement"


@pytest.fixture(scope="module")
def problem():
    return find_problem(str(TORCH_DIR))


_eval = evaluated


def test_baseline_scores_match_the_readme_and_the_numpy_problem(problem):
    recorded = dict(re.findall(r"^\| (\w+) +\| ([0-9.]+) \|",
                               (TORCH_DIR / "README.md").read_text(), re.M))
    numpy_problem = find_problem(str(NUMPY_DIR))
    for name, path in problem.baselines.items():
        ev = _eval(problem, path.read_text())
        assert ev.status == "ok", ev.error
        assert ev.score == pytest.approx(float(recorded[name]), abs=5e-4), name
        twin = _eval(numpy_problem, (NUMPY_DIR / "baselines" / f"{name}.py").read_text())
        assert ev.metrics["balancedness"] == pytest.approx(twin.metrics["balancedness"])
    initial = _eval(problem, problem.initial_source)
    assert initial.score == pytest.approx(float(recorded["initial"]), abs=5e-4)


def test_the_candidate_gets_a_tensor_with_torch_already_imported(problem):
    src = ("import sys\nassert 'torch' in sys.modules, 'torch was not preloaded'\n"
           "import torch\n" + (TORCH_DIR / "baselines" / "round_robin.py").read_text().replace(
               "    num_layers, num_experts = weight.shape",
               "    assert isinstance(weight, torch.Tensor), type(weight)\n"
               "    num_layers, num_experts = weight.shape", 1))
    ev = _eval(problem, src)
    assert ev.status == "ok", ev.error


def test_arrays_are_accepted_and_a_single_tensor_is_refused_with_a_reason(problem):
    numpy_rr = (NUMPY_DIR / "baselines" / "round_robin.py").read_text().replace(
        "    num_layers, num_experts = weight.shape",
        "    weight = weight.numpy()\n    num_layers, num_experts = weight.shape", 1)
    assert _eval(problem, numpy_rr).status == "ok"
    bad = ("import torch\ndef rebalance_experts(weight, num_replicas, num_groups, num_nodes,"
           " num_gpus):\n    return torch.zeros(3)\n")
    ev = _eval(problem, bad)
    assert ev.status == "failed" and "must return (phy2log, log2phy, logcnt)" in ev.error


def test_an_offline_search_improves_on_the_initial_program(tmp_path):
    assert offline_gain(TORCH_DIR, tmp_path, iterations=40, seed=1) > 0.2
