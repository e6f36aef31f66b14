"""The MoE problem end to end through the sandbox: baselines, initial program, bad outputs."""

import re
from pathlib import Path

import pytest

from adrs.config import build
from adrs.evaluation import evaluate

README = Path(__file__).parents[1] / "problems" / "moe_expert_placement" / "README.md"


def _eval(problem, source):
    return evaluate(problem, source, build(problem.defaults).sandbox)


def test_baseline_scores_match_the_figures_in_the_readme(moe_problem):
    recorded = dict(re.findall(r"^\| (\w+) +\| ([0-9.]+) \|", README.read_text(), re.M))
    for name, path in moe_problem.baselines.items():
        ev = _eval(moe_problem, path.read_text())
        assert ev.status == "ok", ev.error
        assert ev.score == pytest.approx(float(recorded[name]), abs=5e-4), name


def test_greedy_beats_round_robin_beats_the_initial_program(moe_problem):
    scores = {n: _eval(moe_problem, p.read_text()).score for n, p in moe_problem.baselines.items()}
    initial = _eval(moe_problem, moe_problem.initial_source)
    assert initial.status == "ok"
    assert scores["eplb_greedy"] > scores["round_robin"] > initial.score


def test_wrong_shapes_are_an_invalid_output_failure(moe_problem):
    src = ("import numpy as np\n"
           "def rebalance_experts(weight, num_replicas, num_groups, num_nodes, num_gpus):\n"
           "    return np.zeros((2, 2), dtype=np.int64), np.zeros(3), np.zeros(4)\n")
    ev = _eval(moe_problem, src)
    assert ev.status == "failed" and ev.failure == "invalid_output"
    assert "phy2log has shape (2, 2)" in ev.error


def test_a_slow_policy_loses_score_beyond_the_time_budget(moe_problem):
    fast = moe_problem.baselines["round_robin"].read_text()
    slow = fast.replace("    num_layers, num_experts = weight.shape",
                        "    import time\n    t = time.process_time()\n"
                        "    while time.process_time() - t < 0.06:\n        pass\n"
                        "    num_layers, num_experts = weight.shape", 1)
    a, b = _eval(moe_problem, fast), _eval(moe_problem, slow)
    assert b.metrics["balancedness"] == pytest.approx(a.metrics["balancedness"])
    assert b.metrics["speed_factor"] < 0.5 and b.score < a.score / 2


def test_sleeping_costs_no_score_only_cpu_time_counts(moe_problem):
    """Time is the CPU the kernel charged, not the wall clock a busy machine stretches."""
    from adrs.sandbox import cgroups

    if "cpu" not in cgroups.hierarchies().names():
        pytest.skip("no cgroup CPU accounting here: times are the parent's wall clock")
    fast = moe_problem.baselines["round_robin"].read_text()
    idle = fast.replace("    num_layers, num_experts = weight.shape",
                        "    import time\n    time.sleep(0.06)\n"
                        "    num_layers, num_experts = weight.shape", 1)
    a, b = _eval(moe_problem, fast), _eval(moe_problem, idle)
    assert b.metrics["speed_factor"] == 1.0 and b.score == a.score



def test_a_torch_eplb_scores_like_the_greedy_baseline_through_adrs_eval():
    """DeepSeek's EPLB written in torch runs inside the sandbox, through the CLI."""
    pytest.importorskip("torch")
    import json
    import subprocess
    import sys

    fixtures = Path(__file__).parent / "fixtures"
    greedy = Path(__file__).parents[1] / "problems/moe_expert_placement/baselines/eplb_greedy.py"
    scores = []
    for program in (fixtures / "eplb_torch.py", greedy):
        done = subprocess.run([sys.executable, "-m", "adrs", "eval", "moe_expert_placement",
                               str(program), "--json"], capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr
        scores.append(json.loads(done.stdout)["score"])
    assert scores[0] == pytest.approx(scores[1], abs=0.01) and scores[0] > 0.8
