"""The transaction-scheduling problem: the simulator on hand-computed cases, the problem
through the sandbox, and the ways of gaming it found so far."""

from pathlib import Path

import numpy as np
import pytest
from problem_checks import check_readme_figures, evaluated, offline_gain

from adrs.problem import find_problem
from evaluators import txn_scheduling as txn

TXN_DIR = Path(__file__).parents[1] / "problems" / "txn_scheduling"


def _batch(ops, durations, threads, keys=3):
    """ops: per transaction, a string of 'r<k>'/'w<k>' tokens."""
    reads = np.zeros((len(ops), keys), dtype=bool)
    writes = np.zeros_like(reads)
    for i, spec in enumerate(ops):
        for token in spec.split():
            (reads if token[0] == "r" else writes)[i, int(token[1:])] = True
    return txn.Batch(reads, writes, np.array(durations, dtype=np.int64), threads)


def test_a_reader_waits_for_the_earlier_writer_and_an_unrelated_one_takes_the_free_thread():
    b = _batch(["w0", "r0", "w1"], [3, 2, 4], threads=2)
    # A [0,3) on one thread; B waits for A: [3,5) on the other; C takes the thread
    # freed at 3: [3,7)
    assert txn.makespan(b, [0, 1, 2]) == 7
    # C [0,4), A [0,3), B after A on A's thread: [3,5)
    assert txn.makespan(b, [2, 0, 1]) == 5


def test_readers_share_a_key_and_a_later_writer_waits_for_all_of_them():
    b = _batch(["r0", "r0", "w0"], [2, 5, 1], threads=3)
    assert txn.makespan(b, [0, 1, 2]) == 6  # readers together [0,5), the writer [5,6)
    assert txn.makespan(b, [2, 0, 1]) == 6  # the writer first [0,1), then both readers


def test_threads_limit_how_much_runs_at_once():
    b = _batch(["", "", "", ""], [1, 1, 1, 1], threads=2)
    assert txn.makespan(b, [0, 1, 2, 3]) == 2


def test_the_lower_bound_is_the_largest_of_its_three_terms():
    assert txn.lower_bound(_batch(["w0", "w0", "w0"], [2, 3, 4], threads=8)) == 9  # key
    assert txn.lower_bound(_batch(["", "", "", ""], [3, 3, 3, 3], threads=3)) == 4  # work
    assert txn.lower_bound(_batch(["", "r0"], [1, 7], threads=4)) == 7  # longest
    rng = np.random.default_rng(3)
    for w in txn.WORKLOADS:  # and no order beats it
        b = txn.batch(w, rng)
        assert txn.makespan(b, rng.permutation(len(b))) >= txn.lower_bound(b)


@pytest.mark.parametrize("order, why", [
    ([0, 1, 1], "not a permutation"), ([0, 1], "shape"), ([0.0, 1.0, 2.0], "float"),
    ([[0, 1, 2]], "shape")])
def test_an_order_that_is_no_permutation_is_refused(order, why):
    with pytest.raises(ValueError, match=why):
        txn.check_order(order, 3)


# --- through the sandbox ------------------------------------------------------------

@pytest.fixture(scope="module")
def problem():
    return find_problem(str(TXN_DIR))


_eval = evaluated


def test_baseline_scores_match_the_figures_in_the_readme(problem):
    check_readme_figures(problem)


def test_a_repeated_transaction_is_an_invalid_output_naming_the_batch(problem):
    src = ("import numpy as np\ndef schedule(reads, writes, durations, threads):\n"
           "    return np.zeros(len(durations), dtype=np.int64)\n")
    ev = _eval(problem, src)
    assert ev.status == "failed" and ev.failure == "invalid_output"
    assert "uniform: the order is not a permutation" in ev.error


def test_clearing_the_conflicts_it_was_given_changes_nothing_but_its_own_copy(problem):
    honest = (TXN_DIR / "baselines" / "input_order.py").read_text()
    cheat = ("import numpy as np\ndef schedule(reads, writes, durations, threads):\n"
             "    writes[:] = False\n    reads[:] = False\n    durations[:] = 1\n"
             "    return np.arange(len(durations))\n")
    assert _eval(problem, cheat).score == _eval(problem, honest).score


def test_a_slow_scheduler_loses_score_beyond_the_time_budget(problem):
    slow = ("import time\nimport numpy as np\ndef schedule(reads, writes, durations, threads):\n"
            "    t = time.process_time()\n    while time.process_time() - t < 0.5:\n"
            "        pass\n    return np.arange(len(durations))\n")
    ev = _eval(problem, slow)
    assert ev.metrics["speed_factor"] < 0.5 and ev.score < ev.metrics["bound_ratio"] / 2


def test_an_offline_search_improves_on_the_initial_program(tmp_path):
    assert offline_gain(TXN_DIR, tmp_path, iterations=120, seed=0) > 0.02
