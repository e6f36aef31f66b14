"""optimizer_discovery: exact gradients, baselines that reach their targets, broken
optimizers recorded as failures, and a scorer that does not take claims on trust."""

import json

import numpy as np
import pytest

from adrs.config import build
from adrs.evaluation import evaluate
from adrs.problem import find_problem
from evaluators import optimizer_tasks as tasks

PROBLEM = find_problem("optimizer_discovery")
LIMITS = build(PROBLEM.defaults).sandbox
BASELINES = PROBLEM.baselines


@pytest.mark.parametrize("name", [*tasks.TASKS, "probe"])
def test_gradients_match_finite_differences(name):
    task = tasks.Probe() if name == "probe" else tasks.TASKS[name](0)
    rng = np.random.default_rng(1)
    params = [p + 0.1 * rng.normal(size=p.shape) for p in task.params0()]
    _, grads = task.loss_grad(params)  # no rng: the full-batch gradient
    eps = 1e-6
    for k, p in enumerate(params):
        for idx in list(np.ndindex(p.shape))[:12]:
            up = [q.copy() for q in params]
            down = [q.copy() for q in params]
            up[k][idx] += eps
            down[k][idx] -= eps
            numeric = (task.loss(up) - task.loss(down)) / (2 * eps)
            assert grads[k][idx] == pytest.approx(numeric, rel=1e-4, abs=1e-7), (name, k, idx)


def test_minibatch_gradients_are_noisy_but_unbiased():
    task = tasks.NoisyRegression(0)
    w = [np.ones(10)]
    rng = np.random.default_rng(0)
    draws = np.array([task.loss_grad(w, rng)[1][0] for _ in range(4000)])
    assert draws.std(axis=0).min() > 0.05
    np.testing.assert_allclose(draws.mean(axis=0), task.loss_grad(w)[1][0], atol=0.05)


def _metrics(source):
    ev = evaluate(PROBLEM, source, LIMITS, probe=False)
    assert ev.status == "ok", (ev.failure, ev.error)
    return ev.metrics


def test_adam_reaches_every_target_and_matches_its_reference():
    m = _metrics(BASELINES["adam"].read_text())
    reference = json.loads((PROBLEM.root / "reference.json").read_text())
    assert {t: int(m[f"{t}_steps"]) for t in tasks.TASKS} == reference
    assert m["score"] == m["heldout_score"] == 1.0


def test_lion_reaches_its_targets_and_baselines_rank_sensibly():
    lion = _metrics(BASELINES["lion"].read_text())
    for t in ("rosenbrock", "mlp"):  # sign updates plateau elsewhere at fixed lr
        assert lion[f"{t}_steps"] > 0, t
    sgd = _metrics(PROBLEM.initial_source)
    assert sgd["quadratic_steps"] == -1  # plain SGD cannot handle condition number 1000
    assert sgd["score"] < _metrics(BASELINES["sgd_momentum"].read_text())["score"] < 1.0


def _program(update_body: str) -> str:
    return ("import numpy as np\n\ndef init(params):\n    return None\n\n"
            "def update(params, grads, state, step, lr):\n" + update_body)


@pytest.mark.parametrize("body, failure, words", [
    ("    return [p * np.nan for p in params], state\n", "invalid_output", "diverged"),
    ("    return [p - 1e9 * lr * g for p, g in zip(params, grads)], state\n",
     "invalid_output", "diverged"),
    ("    return [p.ravel()[:1] for p in params], state\n", "exception", "shape"),
    ("    for p, g in zip(params, grads):\n        p -= lr * g\n    return params, state\n",
     "exception", "read-only"),
    ("    return params[0], state\n", "exception", "update must return a list"),
])
def test_a_broken_optimizer_is_a_recorded_failure(body, failure, words):
    ev = evaluate(PROBLEM, _program(body), LIMITS, probe=False)
    assert (ev.status, ev.failure) == ("failed", failure), ev.error
    assert words in ev.error


def test_a_program_without_update_says_so():
    ev = evaluate(PROBLEM, "def init(params):\n    return None\n", LIMITS, probe=False)
    assert ev.status == "failed" and "no update() function" in ev.error


def test_claimed_success_is_checked_against_the_returned_parameters():
    ev = PROBLEM.evaluator
    honest = {"steps": None, "diverged": False, "lr": 0.1,
              "params": ev.instance("quadratic").params0()}
    forged = {**honest, "steps": 1}  # "reached the target at step 1" from the start point
    assert ev._task_metrics("quadratic", forged) == ev._task_metrics("quadratic", honest)
    assert ev._task_metrics("quadratic", forged)["quadratic_steps"] == -1


def test_the_readme_records_the_baselines_as_measured():
    import re

    readme = (PROBLEM.root / "README.md").read_text()
    recorded = {n: (float(a), float(b)) for n, a, b in
                re.findall(r"^\| (\w+) \| ([0-9.]+) \| ([0-9.]+) \|$", readme, re.M)}
    programs = {**{n: p.read_text() for n, p in BASELINES.items()},
                "initial": PROBLEM.initial_source}
    assert set(recorded) == set(programs)
    for name, source in programs.items():
        m = _metrics(source)
        assert (m["score"], m["heldout_score"]) == pytest.approx(recorded[name], abs=1e-4), name
