"""The GPU-allocation problem: the cost model and exact optimum on hand-computed and
brute-forced cases, the problem through the sandbox, and the ways of gaming it."""

import itertools
import re
from pathlib import Path

import numpy as np
import pytest
from problem_checks import check_readme_figures, evaluated, offline_gain

from adrs.problem import find_problem
from evaluators import gpu_allocation as gpus

GPU_DIR = Path(__file__).parents[1] / "problems" / "gpu_allocation"
TABLE = np.array([[2.0, 1.0], [10.0, 5.0]])  # requests/s per GPU: 2 types x 2 buckets
RATES, PRICES = np.array([3.0, 1.0]), np.array([1.0, 4.0])


def test_a_type_needs_the_rounded_up_sum_of_its_buckets_loads():
    assert gpus.cost(np.array([0, 0]), RATES, TABLE, PRICES) == 3.0  # 1.5 + 1 -> 3 GPUs
    assert gpus.cost(np.array([1, 1]), RATES, TABLE, PRICES) == 4.0  # 0.3 + 0.2 -> 1
    assert gpus.cost(np.array([0, 1]), RATES, TABLE, PRICES) == 6.0  # 2 of one, 1 of other
    assert gpus.optimum(RATES, TABLE, PRICES) == 3.0


@pytest.mark.parametrize("assignment, why", [
    (np.array([0]), "shape"), (np.array([0.0, 1.0]), "integer"), (np.array([0, 2]), "outside"),
    (np.array([0, -1]), "outside")])
def test_an_assignment_that_is_none_is_refused(assignment, why):
    with pytest.raises(ValueError, match=why):
        gpus.cost(assignment, RATES, TABLE, PRICES)


def test_a_bucket_on_a_type_that_cannot_meet_the_slo_is_refused():
    table = TABLE.copy()
    table[1, 0] = 0.0
    with pytest.raises(ValueError, match="bucket 0 sent to a GPU type that cannot meet"):
        gpus.cost(np.array([1, 1]), RATES, table, PRICES)


def test_the_optimum_is_what_trying_every_assignment_finds():
    rng = np.random.default_rng(5)
    for n in (1, 2, 5, 6, 7, 5):
        rates, table, prices = gpus.instance(n, float(rng.uniform(1, 40)), 0.06, rng)
        options = [np.flatnonzero(table[:, b] > 0) for b in range(n)]
        brute = min(gpus.cost(np.array(a), rates, table, prices)
                    for a in itertools.product(*options))
        assert gpus.optimum(rates, table, prices) == pytest.approx(brute)
        assert gpus.lower_bound(rates, table, prices) <= brute + 1e-9


def test_the_profiles_follow_the_slo_and_the_memory():
    l4, a10g, a100, h100 = gpus.GPUS
    assert gpus.throughput(l4, 256, 128, 0.04) == 0.0  # reading 14 GB at 300 GB/s: 47 ms
    assert gpus.throughput(l4, 256, 128, 0.1) > 0
    assert gpus.throughput(l4, 8192, 32, 0.1) == 0.0  # its prefill exceeds the TTFT
    assert gpus.throughput(a100, 8192, 32, 0.1) > 0
    for g in gpus.GPUS:
        assert gpus.throughput(g, 1024, 128, 0.1) >= gpus.throughput(g, 1024, 128, 0.06)
        assert gpus.throughput(g, 256, 128, 0.1) > gpus.throughput(g, 4096, 512, 0.1)


# --- through the sandbox ------------------------------------------------------------

@pytest.fixture(scope="module")
def problem():
    return find_problem(str(GPU_DIR))


_eval = evaluated


def test_baseline_scores_match_the_figures_in_the_readme(problem):
    check_readme_figures(problem)


def test_exact_on_small_instances_is_optimal_on_each_of_them(problem):
    ev = _eval(problem, (GPU_DIR / "baselines" / "exact_small.py").read_text())
    assert ev.metrics["optimality_small"] == pytest.approx(1.0)


def test_an_infeasible_assignment_is_an_invalid_output_naming_the_instance(problem):
    src = ("import numpy as np\ndef allocate(rates, throughput, prices):\n"
           "    return np.zeros(len(rates), dtype=np.int64)\n")  # L4 everywhere
    ev = _eval(problem, src)
    assert ev.status == "failed" and ev.failure == "invalid_output"
    assert re.search(r"instance \d+: bucket \d+ sent to a GPU type that cannot", ev.error)


def test_changing_the_instance_it_was_given_changes_nothing_but_its_own_copy(problem):
    honest = (GPU_DIR / "baselines" / "cheapest_single_type.py").read_text()
    cheat = honest.replace("def allocate(", "def _honest(") + (
        "\n\ndef allocate(rates, throughput, prices):\n"
        "    out = _honest(rates, throughput, prices)\n"
        "    rates[:] = 0.0\n    prices[:] = 0.0\n    throughput[:] = 1e9\n    return out\n")
    assert _eval(problem, cheat).score == _eval(problem, honest).score


def test_a_slow_allocator_loses_score_beyond_the_time_budget(problem):
    fast = (GPU_DIR / "baselines" / "cheapest_single_type.py").read_text()
    slow = fast.replace("    best, choice = np.inf, 0\n",
                        "    import time\n    t = time.process_time()\n"
                        "    while time.process_time() - t < 0.45:\n        pass\n"
                        "    best, choice = np.inf, 0\n", 1)
    a, b = _eval(problem, fast), _eval(problem, slow)
    assert b.metrics["optimality"] == a.metrics["optimality"]
    assert b.metrics["speed_factor"] < 0.5 and b.score < a.score / 2


def test_an_offline_search_improves_on_the_initial_program(tmp_path):
    assert offline_gain(GPU_DIR, tmp_path, iterations=120, seed=0) > 0.02
