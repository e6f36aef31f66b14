"""The speculative-decoding problem: the serving simulator on hand-computed cases, the
policy table, and the problem through the sandbox."""

from pathlib import Path

import numpy as np
import pytest
from problem_checks import check_readme_figures, evaluated, offline_gain

from adrs.problem import find_problem
from evaluators import speculative_decoding as spec

SPEC_DIR = Path(__file__).parents[1] / "problems" / "speculative_decoding"


def _requests(arrivals, lengths, alpha, accept: bool):
    n, width = len(arrivals), max(lengths) + spec.MAX_K + 1
    uniforms = np.zeros((n, width)) if accept else np.ones((n, width))
    return {"arrivals": np.array(arrivals, float), "lengths": np.array(lengths),
            "alpha": np.array(alpha, float), "uniforms": uniforms}


def _table(k):
    return np.full((spec.MAX_BATCH, len(spec.GRID)), k, dtype=np.int64)


def test_step_time_grows_with_k_and_with_the_batch():
    assert spec.step_seconds(1, 0) == pytest.approx(0.018 + 0.00022)
    assert spec.step_seconds(32, 4) == pytest.approx(0.0012 * 4 * 2 + 0.018 + 0.00022 * 32 * 5)


def test_accepted_drafts_and_the_bonus_token_finish_a_request_in_fewer_steps():
    # 10 tokens, every draft accepted, k = 4: 5 tokens a step, 2 steps
    run = spec.simulate(_requests([0.0], [10], [0.9], accept=True), _table(4))
    assert run["latency"] == pytest.approx(2 * spec.step_seconds(1, 4))
    plain = spec.simulate(_requests([0.0], [10], [0.9], accept=True), _table(0))
    assert plain["latency"] == pytest.approx(10 * spec.step_seconds(1, 0))


def test_rejected_drafts_only_cost_time():
    # every draft rejected: one token a step either way, each step dearer with k = 4
    run = spec.simulate(_requests([0.0], [10], [0.1], accept=False), _table(4))
    assert run["latency"] == pytest.approx(10 * spec.step_seconds(1, 4))


def test_requests_share_steps_and_wait_for_a_place_in_the_batch():
    n = spec.MAX_BATCH + 2
    run = spec.simulate(_requests([0.0] * n, [3] * n, [0.5] * n, accept=True), _table(0))
    first = 3 * spec.step_seconds(spec.MAX_BATCH, 0)  # 48 together, 3 steps
    later = first + 3 * spec.step_seconds(2, 0)  # then the 2 that waited
    assert run["latency"] == pytest.approx((spec.MAX_BATCH * first + 2 * later) / n)


def test_the_acceptance_estimate_follows_what_speculation_shows():
    # k = 1 while the estimate is at least 0.5, else 2: drafts always rejected drive
    # it down (k becomes 2), always accepted keep it up (k stays 1)
    table = _table(1)
    table[:, :50] = 2
    down = spec.simulate(_requests([0.0], [200], [0.1], accept=False), table)
    up = spec.simulate(_requests([0.0], [200], [0.9], accept=True), table)
    assert down["mean_k"] > 1.8 and up["mean_k"] == 1.0


@pytest.mark.parametrize("table, why", [
    (np.zeros((3, 3), dtype=np.int64), "shape"), (_table(1).astype(float), "float"),
    (_table(9), "0..8"), (_table(-1), "0..8")])
def test_a_table_that_is_no_policy_is_refused(table, why):
    with pytest.raises(ValueError, match=why):
        spec.check_table(table)


# --- through the sandbox ------------------------------------------------------------

@pytest.fixture(scope="module")
def problem():
    return find_problem(str(SPEC_DIR))


_eval = evaluated


def test_baseline_scores_match_the_figures_in_the_readme(problem):
    check_readme_figures(problem)


@pytest.mark.parametrize("returned", ["9", "2.0", "True", "'3'"])
def test_a_k_that_is_no_int_in_range_fails_naming_the_call(problem, returned):
    ev = _eval(problem, f"def choose_k(batch, acceptance):\n    return {returned}\n")
    assert ev.status == "failed" and "choose_k(1, 0.0) returned" in ev.error
    assert "return an int in 0..8" in ev.error


def test_programs_with_the_same_table_hash_equal_and_others_do_not(problem):
    a = _eval(problem, "def choose_k(batch, acceptance):\n    return 2\n", probe=True)
    b = _eval(problem, "def choose_k(batch, acceptance):\n    return 2 if batch else 7\n",
              probe=True)
    c = _eval(problem, "def choose_k(batch, acceptance):\n    return 2 if batch < 48 else 1\n",
              probe=True)
    assert a.functional_hash == b.functional_hash != c.functional_hash


def test_a_stateful_policy_is_judged_on_the_table_it_gave(problem):
    # It answers by call count, as if to behave differently once "running": only the
    # table exists, so it scores as the program that returns that table outright.
    counting = ("calls = []\ndef choose_k(batch, acceptance):\n    calls.append(1)\n"
                "    return 3 if len(calls) <= 48 * 101 else 0\n")
    assert _eval(problem, counting).score == _eval(
        problem, (SPEC_DIR / "baselines" / "fixed_k.py").read_text()).score


def test_an_offline_search_improves_on_the_initial_program(tmp_path):
    assert offline_gain(SPEC_DIR, tmp_path, iterations=60, seed=0) > 0.02
