"""Fair judging: candidates that game the bundled problems score no better than their
honest twins, the judging key stays out of the sandbox, and scores do not move
with machine load."""

import multiprocessing
import os
import stat
import time
from pathlib import Path

import pytest

from adrs import judging
from adrs.config import build
from adrs.evaluation import evaluate
from adrs.loop import Search
from adrs.problem import find_problem
from adrs.runs import start_run

ROOT = Path(__file__).parents[1]
MOE = ROOT / "problems" / "moe_expert_placement"
OPT = ROOT / "problems" / "optimizer_discovery"
SIMULATOR = (ROOT / "evaluators" / "moe_placement.py").read_text()
TASKS = (ROOT / "evaluators" / "optimizer_tasks.py").read_text()
PRIVATE = 987654321


def _score(problem, source) -> float:
    ev = evaluate(problem, source, build(problem.defaults).sandbox, probe=False)
    assert ev.status == "ok", (ev.failure, ev.error)
    return ev.score


def _twin(honest: str, attack: str, entry: str) -> str:
    """The honest program with its entry point renamed, behind an attacking wrapper."""
    return honest.replace(f"def {entry}(", f"def _honest_{entry}(") + "\n" + attack


# Regenerates the public scenarios (the simulator's own code, pasted in) and places on
# the window after the one it is given.
MOE_REGENERATE = SIMULATOR + '''

_PUBLIC = [expert_loads(Topology(), s) for s in SCENARIOS]


def rebalance_experts(weight, num_replicas, num_groups, num_nodes, num_gpus):
    for loads in _PUBLIC:
        for w in range(len(loads) - 1):
            if np.array_equal(loads[w], weight):
                weight = loads[w + 1]  # the window it will be judged on
    return _honest_rebalance_experts(weight, num_replicas, num_groups, num_nodes, num_gpus)
'''

# Searches its process memory (frames, every live object) for windows it was not given.
MOE_SNOOP = '''
_GIVEN = []


def rebalance_experts(weight, num_replicas, num_groups, num_nodes, num_gpus):
    import gc
    import sys

    _GIVEN.append(weight.copy())

    found = [o for o in gc.get_objects() if isinstance(o, np.ndarray) and o.shape ==
             weight.shape and o.dtype == weight.dtype and o is not weight]
    frame = sys._getframe(1)
    while frame is not None:
        found += [v for v in frame.f_locals.values() if isinstance(v, np.ndarray)
                  and v.shape == weight.shape and v is not weight]
        frame = frame.f_back
    others = [o for o in found if not any(np.array_equal(o, g) for g in _GIVEN)]
    if others:
        weight = np.mean(others, axis=0).astype(np.int64)
    return _honest_rebalance_experts(weight, num_replicas, num_groups, num_nodes, num_gpus)
'''


def test_a_moe_candidate_regenerating_the_public_workload_gains_nothing_in_a_run():
    public = find_problem(str(MOE))
    private = public.judged_on(PRIVATE)
    honest = (MOE / "baselines" / "eplb_greedy.py").read_text()
    attacker = _twin(honest, MOE_REGENERATE.replace("from __future__ import annotations\n", ""),
                     "rebalance_experts")
    assert _score(public, attacker) > _score(public, honest)  # the attack is real
    assert _score(private, attacker) == _score(private, honest)


def test_a_moe_candidate_searching_its_memory_finds_no_other_window():
    problem = find_problem(str(MOE)).judged_on(PRIVATE)
    honest = (MOE / "baselines" / "eplb_greedy.py").read_text()
    assert _score(problem, _twin(honest, MOE_SNOOP, "rebalance_experts")) == \
        _score(problem, honest)


# Recognises the public task instances by their starting point and jumps to their
# optimum: the quadratic's centre, Rosenbrock's shifted (1, 1) and, held out, an exact
# factorisation of the matrix.
OPT_SPECIAL_CASE = TASKS + '''

_KNOWN = {}
for _task in (Quadratic(0), Rosenbrock(0), MatrixFactorization(0)):
    _KNOWN[_task.params0()[0].tobytes()] = _task


def _optimum(task):
    if isinstance(task, Quadratic):
        return [task.center]
    if isinstance(task, Rosenbrock):
        return [task.shift + 1.0]
    u, s, vt = np.linalg.svd(task.m)
    return [u[:, :3] * np.sqrt(s[:3]), vt[:3].T * np.sqrt(s[:3])]


def init(params):
    return {"task": _KNOWN.get(params[0].tobytes()), "inner": _honest_init(params)}


def update(params, grads, state, step, lr):
    if state["task"] is not None:
        return _optimum(state["task"]), state
    new, state["inner"] = _honest_update(params, grads, state["inner"], step, lr)
    return new, state
'''

# Looks for the harness's task objects and their data in its own process.
OPT_SNOOP = '''

def init(params):
    import gc
    import sys

    def task_like(o):
        try:
            return hasattr(o, "loss_grad") and hasattr(o, "target")
        except Exception:  # noqa: BLE001 - lazy loaders raise on any attribute
            return False

    seen = [o for o in gc.get_objects() if task_like(o)]
    harness = sys.modules.get("harness")
    return {"found": bool(seen) or harness is not None, "inner": _honest_init(params)}


def update(params, grads, state, step, lr):
    if state["found"]:
        return [p * 0.0 for p in params], state  # would jump somewhere it learnt
    new, state["inner"] = _honest_update(params, grads, state["inner"], step, lr)
    return new, state
'''


def _adam_twin(attack: str) -> str:
    adam = (OPT / "baselines" / "adam.py").read_text()
    adam = adam.replace("def init(", "def _honest_init(").replace("def update(",
                                                                  "def _honest_update(")
    return adam + "\n" + attack.replace("from __future__ import annotations\n", "")


def test_an_optimizer_special_casing_known_tasks_gains_nothing_in_a_run():
    public = find_problem(str(OPT))
    private = public.judged_on(PRIVATE)
    honest = (OPT / "baselines" / "adam.py").read_text()
    attacker = _adam_twin(OPT_SPECIAL_CASE)
    pub = evaluate(public, attacker, build(public.defaults).sandbox, probe=False)
    assert pub.status == "ok", pub.error
    assert pub.metrics["quadratic_score"] == 2.0  # on public instances it jumps (the cap)
    assert pub.metrics["matrix_factorization_score"] == 2.0  # held out, too
    assert _score(private, attacker) == _score(private, honest)


# Remembers the best parameters it reached from each start, in memory and in a file,
# and jumps there when a later tuning trial starts from the same point.
OPT_MEMORY = '''
_BEST = {}


def _recall(key):
    import pickle

    try:
        with open("/tmp/adrs-memo-" + key.hex()[:16], "rb") as fh:
            return pickle.load(fh)
    except Exception:  # noqa: BLE001
        return _BEST.get(key)


def _remember(key, params):
    import pickle

    _BEST[key] = params
    try:
        with open("/tmp/adrs-memo-" + key.hex()[:16], "wb") as fh:
            pickle.dump(params, fh)
    except Exception:  # noqa: BLE001
        pass


def init(params):
    key = params[0].tobytes()
    return {"key": key, "jump": _recall(key), "inner": _honest_init(params)}


def update(params, grads, state, step, lr):
    if state["jump"] is not None:
        return state["jump"], state
    new, state["inner"] = _honest_update(params, grads, state["inner"], step, lr)
    _remember(state["key"], [np.array(p) for p in new])
    return new, state
'''


def test_an_optimizer_cannot_carry_a_solution_from_one_tuning_trial_to_the_next():
    problem = find_problem(str(OPT)).judged_on(PRIVATE)
    honest = (OPT / "baselines" / "adam.py").read_text()
    assert _score(problem, _adam_twin(OPT_MEMORY)) == _score(problem, honest)


def test_an_optimizer_cannot_see_the_harness_or_its_tasks():
    problem = find_problem(str(OPT)).judged_on(PRIVATE)
    honest = (OPT / "baselines" / "adam.py").read_text()
    assert _score(problem, _adam_twin(OPT_SNOOP)) == _score(problem, honest)


def test_judging_seeds_are_private_stable_and_keyed(tmp_path, monkeypatch):
    monkeypatch.delenv(judging.KEY_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    first = judging.private_seed(0)
    key = judging.key_path()
    assert key.is_file() and stat.S_IMODE(key.stat().st_mode) == 0o600
    assert judging.private_seed(0) == first and judging.private_seed(1) != first
    key.write_text("ab" * 32 + "\n")
    assert judging.private_seed(0) != first  # another key, another seed
    monkeypatch.setenv(judging.KEY_ENV, "cd" * 32)
    assert judging.private_seed(0) not in (first, 0)


def test_a_run_judges_privately_and_stores_its_seed(tmp_path):
    ctx = start_run(str(MOE), name="moe", db=None, archive=tmp_path, config_file=None,
                    overrides={"iterations": 1})
    assert ctx.run.judging_seed == judging.private_seed(0)
    assert ctx.problem.evaluator.judging_seed == ctx.run.judging_seed
    assert ctx.problem.cases_json != find_problem(str(MOE)).cases_json


def test_the_judging_key_is_not_visible_in_the_sandbox():
    judging.private_seed(0)  # the key exists
    key = str(judging.key_path())
    src = ("def rebalance_experts(weight, num_replicas, num_groups, num_nodes, num_gpus):\n"
           f"    return open({key!r}).read()\n")
    problem = find_problem(str(MOE))
    ev = evaluate(problem, src, build(problem.defaults).sandbox, probe=False)
    assert ev.status == "failed" and ev.failure != "invalid_output", ev.error


def _burn(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def _archive(tmp_path, name, problem, iterations):
    ctx = start_run(str(problem), name=name, db=None, archive=tmp_path, config_file=None,
                    overrides={"iterations": iterations, "workers": 2})
    Search(ctx, progress=False).run()
    return [(r.iteration, r.syntactic_hash, r.status, r.score)
            for r in ctx.store.history(ctx.run.id)]


@pytest.mark.parametrize("name, iterations", [
    ("moe_expert_placement", 16), ("optimizer_discovery", 3), ("function_minimization", 16),
    ("online_bin_packing", 16), ("spot_scheduling", 16),
    ("txn_scheduling", 16), ("gpu_allocation", 16),
    ("speculative_decoding", 8), ("moe_placement_torch", 16)])
def test_the_same_seed_gives_the_same_archive_beside_a_cpu_hog(tmp_path, name, iterations):
    problem = ROOT / "problems" / name
    quiet = _archive(tmp_path, "quiet", problem, iterations)
    hogs = [multiprocessing.get_context("fork").Process(target=_burn, args=(600,), daemon=True)
            for _ in range(os.cpu_count() or 2)]
    for h in hogs:
        h.start()
    try:
        loaded = _archive(tmp_path, "loaded", problem, iterations)
    finally:
        for h in hogs:
            h.kill()
    assert loaded == quiet


BINS = ROOT / "problems" / "online_bin_packing"
FMIN = ROOT / "problems" / "function_minimization"

# Looks up the call stack and the heap for the item sequence, and claims one bin.
BINS_SNOOP = '''

def pack(items, capacity):  # the count the old evaluator believed
    return 1


def priority(item, bins):
    import gc
    import sys

    frame, seen = sys._getframe(1), []
    while frame is not None:
        seen += [v for v in frame.f_locals.values() if isinstance(v, (list, np.ndarray))
                 and len(v) > 50]
        frame = frame.f_back
    seen += [o for o in gc.get_objects() if isinstance(o, np.ndarray) and o.size >= 60]
    if seen:  # it knows what is coming: would plan the packing offline
        return np.arange(len(bins), dtype=float)
    return _honest_priority(item, bins)
'''


def test_a_bin_packing_candidate_sees_no_future_items_and_cannot_report_its_bins():
    public = find_problem(str(BINS))
    honest = (BINS / "initial_program.py").read_text().replace(
        "0.0 * waste - 1.0 * np.arange", "-waste - 0.0 * np.arange")  # best fit
    attacker = _twin(honest, BINS_SNOOP, "priority")
    for problem in (public, public.judged_on(PRIVATE)):
        assert _score(problem, attacker) == _score(problem, honest)
    assert _score(public.judged_on(PRIVATE), honest) != _score(public, honest)  # private data
    # the seed reached the evaluator's process in the box as data, never this process
    assert "ADRS_JUDGING_SEED" not in os.environ
    assert public.judged_on(PRIVATE).evaluator.cases()[0]["environment"] == \
        {"ADRS_JUDGING_SEED": str(PRIVATE)}


FMIN_KNOWN = '''

def search_algorithm(iterations=1000, bounds=(-5.0, 5.0), seed=0):
    return -1.7042, 0.6792, -100.0  # the public optimum, and a value it never reached
'''

FMIN_GRID = '''

def search_algorithm(iterations=1000, bounds=(-5.0, 5.0), seed=0):
    xs = np.linspace(bounds[0], bounds[1], 200)
    best = min((evaluate_function(x, y), x, y) for x in xs for y in xs)  # 40,000 calls
    return best[1], best[2], best[0]
'''


def test_a_minimiser_gains_nothing_from_the_public_optimum_or_a_larger_budget():
    public = find_problem(str(FMIN))
    private = public.judged_on(PRIVATE)
    honest = (FMIN / "initial_program.py").read_text()
    known = _twin(honest, FMIN_KNOWN, "search_algorithm")
    assert _score(public, known) > _score(public, honest)  # on public data it would win
    assert _score(private, known) < _score(private, honest)
    grid = _twin(honest, FMIN_GRID, "search_algorithm")
    ev = evaluate(private, grid, build(private.defaults).sandbox, probe=False)
    assert ev.status == "failed" and "budget" in ev.error, ev.error
