"""The spot-scheduling problem: the simulator on hand-computed cases, the problem end to
end through the sandbox, and each way of gaming it found so far."""

from pathlib import Path

import numpy as np
import pytest
from problem_checks import check_readme_figures, evaluated, offline_gain

from adrs.problem import find_problem
from evaluators import spot_scheduling as sim

ROOT = Path(__file__).parents[1]
SPOT_DIR = ROOT / "problems" / "spot_scheduling"
HARNESS = (ROOT / "evaluators" / "spot_scheduling.py").read_text()
PRIVATE = 424242
NONE, SPOT, OD = sim.NONE, sim.SPOT, sim.ON_DEMAND


def _run(available, job, actions):
    """Simulate one job whose decisions are `actions`, tick by tick (then NONE)."""
    available = np.array([available], dtype=np.int8)
    jobs = np.array([job], dtype=float)
    s = sim.Simulation(available, jobs)
    log = s.run(lambda rows, _obs: np.array([actions[s.t] if s.t < len(actions) else NONE]))
    return s, log[0]


# --- the simulator, by hand ---------------------------------------------------------

def test_on_demand_pays_one_restart_then_every_tick_until_done():
    # 1 h of work, 0.2 h restart, 0.1 h ticks: 2 ticks of restart, 10 of work
    s, log = _run(np.zeros(30), (1.0, 3.0, 0.2, 0.1), [OD] * 30)
    assert s.met()[0] and s.paid[0].tolist() == [0, 0, 12]
    assert s.cost[0] == pytest.approx(12 * 0.1 * 3.06)
    assert (log[:12] == OD).all() and (log[12:] == -1).all()
    assert s.cost[0] == sim.on_demand_cost(np.array([(1.0, 3.0, 0.2, 0.1)]))[0]


def test_a_preempted_spot_cluster_stops_and_restarts_when_spot_returns():
    # 0.3 h of work, 0.05 h restart. t0: restart + 0.05 work; t1: 0.1; t2: spot gone,
    # nothing runs or is paid; t3: restart again, 0.05; t4: 0.1 -> 0.3 done
    s, log = _run([1, 1, 0, 1, 1, 1, 1, 1], (0.3, 1.0, 0.05, 0.1), [SPOT] * 8)
    assert log[:5].tolist() == [SPOT, SPOT, NONE, SPOT, SPOT] and log[5] == -1
    assert s.done[0] == pytest.approx(0.3) and s.met()[0]
    assert s.paid[0].tolist() == [1, 4, 0] and s.cost[0] == pytest.approx(4 * 0.1 * 0.97)


def test_spot_asked_for_while_unavailable_runs_nothing():
    s, log = _run([0, 0, 1, 1], (0.1, 1.0, 0.0, 0.1), [SPOT] * 4)
    assert log[:3].tolist() == [NONE, NONE, SPOT] and s.paid[0].tolist() == [2, 1, 0]
    assert s.met()[0]


def test_switching_from_spot_to_on_demand_pays_a_restart():
    # 0.1 h restart: t0 spot restart (no work), t1 spot 0.1, t2 on-demand restart, t3 0.1
    s, _ = _run(np.ones(10), (0.2, 1.0, 0.1, 0.1), [SPOT, SPOT, OD, OD, OD])
    assert s.done[0] == pytest.approx(0.2) and s.paid[0].tolist() == [0, 2, 2]


def test_a_job_that_cannot_finish_by_its_deadline_misses_it():
    # 1 h of work and a 0.05 h restart need 11 ticks; the deadline allows 10
    s, log = _run(np.ones(20), (1.0, 1.0, 0.05, 0.1), [OD] * 20)
    assert not s.met()[0] and (log[10:] == -1).all()
    s, _ = _run(np.ones(20), (1.0, 1.1, 0.05, 0.1), [OD] * 20)
    assert s.met()[0]


def test_replay_recomputes_the_costs_and_rejects_a_log_that_is_no_decision_list():
    available = np.ones((1, 20), dtype=np.int8)
    jobs = np.array([(1.0, 2.0, 0.1, 0.1)])
    s, log = _run(available[0], jobs[0], [SPOT] * 20)
    again = sim.replay(available, jobs, log[None, :])
    assert again.cost.tolist() == s.cost.tolist() and again.met().all()
    bad = log[None, :].copy()
    bad[0, 3] = 7
    with pytest.raises(ValueError, match="not NONE, SPOT or ON_DEMAND"):
        sim.replay(available, jobs, bad)
    extra = log[None, :].copy()
    extra[0, -1] = SPOT  # a decision after the job had finished
    with pytest.raises(ValueError, match="after a job had finished"):
        sim.replay(available, jobs, extra)
    two = np.ones((2, 20), dtype=np.int8)  # a stray decision while another job runs on
    jobs2 = np.array([(0.5, 2.0, 0.0, 0.1), (1.5, 2.0, 0.0, 0.1)])
    _, first = _run(two[0], jobs2[0], [SPOT] * 20)
    _, second = _run(two[1], jobs2[1], [SPOT] * 20)
    stray = np.stack([first, second])
    stray[0, 7] = OD  # job 0 finished at tick 4
    with pytest.raises(ValueError, match="does not replay as given"):
        sim.replay(two, jobs2, stray)
    sim.replay(two, jobs2, np.stack([first, second]))  # the honest log replays
    with pytest.raises(ValueError, match="shape"):
        sim.replay(available, jobs, log[None, :5])


def test_traces_of_each_regime_have_the_availability_they_are_named_for():
    rng = np.random.default_rng(1)
    mean = {r: np.mean([sim.trace(r, 70.0, 0.1, rng).mean() for _ in range(40)])
            for r in sim.REGIMES}
    assert mean["stable"] > 0.65 > mean["bursty"] > 0.4 > 0.3 > mean["scarce"] > 0.05


# --- the problem through the sandbox ------------------------------------------------

@pytest.fixture(scope="module")
def spot():
    return find_problem(str(SPOT_DIR))


_eval = evaluated


def _score(problem, source) -> float:
    ev = _eval(problem, source)
    assert ev.status == "ok", (ev.failure, ev.error)
    return ev.score


def test_baseline_scores_match_the_figures_in_the_readme(spot):
    check_readme_figures(spot)


def test_always_on_demand_saves_nothing_and_misses_nothing(spot):
    ev = _eval(spot, (SPOT_DIR / "baselines" / "always_on_demand.py").read_text())
    assert ev.score == 0.0 and ev.metrics["missed"] == 0


def test_a_policy_that_always_waits_misses_every_deadline(spot):
    waits = ("class Policy:\n    def __init__(self, job):\n        pass\n"
             "    def decide(self, *obs):\n        return 0\n")
    ev = _eval(spot, waits)
    assert ev.status == "ok" and ev.score == -1.0 and ev.metrics["missed"] == 36


@pytest.mark.parametrize("returned, expected", [
    ("'spot'", "returned 'spot'"), ("True", "returned True"), ("7", "returned 7"),
    ("1.0", "returned 1.0")])
def test_a_decision_that_is_no_decision_fails_naming_the_valid_ones(spot, returned, expected):
    src = (f"class Policy:\n    def __init__(self, job):\n        pass\n"
           f"    def decide(self, *obs):\n        return {returned}\n")
    ev = _eval(spot, src)
    assert ev.status == "failed" and expected in ev.error
    assert "NONE (0), SPOT (1) or ON_DEMAND (2)" in ev.error


def test_a_policy_that_raises_fails_with_its_exception(spot):
    src = ("class Policy:\n    def __init__(self, job):\n        self.n = 0\n"
           "    def decide(self, *obs):\n        self.n += 1\n"
           "        if self.n > 50:\n            raise KeyError('lost track')\n        return 2\n")
    ev = _eval(spot, src)
    assert ev.status == "failed" and "KeyError" in ev.error and "lost track" in ev.error


def test_a_program_without_a_policy_fails_saying_so(spot):
    ev = _eval(spot, "def decide(*obs):\n    return 1\n")
    assert ev.status == "failed" and "defines no Policy class" in ev.error


# --- gaming -------------------------------------------------------------------------

def _twin(honest: str, attack: str) -> str:
    """The honest policy renamed, behind an attacking Policy that may fall back on it."""
    return honest.replace("class Policy:", "class _Honest:") + "\n" + attack


HONEST = (SPOT_DIR / "baselines" / "uniform_progress.py").read_text()

# Regenerates the public traces (the simulator's own code, pasted in), recognises its
# trace from what it has seen and then knows the future: it waits while enough spot
# is still to come, and uses on-demand only when it is not.
REGENERATE = HARNESS.replace("from __future__ import annotations\n", "").split(
    "# --- the candidate's process")[0] + '''

_PUBLIC = []
for _r, _regime in enumerate(REGIMES):
    for _d in range(2):
        for _o in range(2):
            for _k in range(3):
                _PUBLIC.append(trace(_regime, 70.0, GAP,
                                     np.random.default_rng([0, _r, _d, _o, _k])))


class Policy:
    def __init__(self, job):
        self.job, self.seen, self.honest = job, [], _Honest(job)

    def decide(self, elapsed, done, overhead_left, cluster, has_spot):
        self.seen.append(int(has_spot))
        honest = self.honest.decide(elapsed, done, overhead_left, cluster, has_spot)
        future = self._future()
        if future is None or self.honest.forced:
            return honest
        if has_spot:
            return SPOT
        # wait if the spot still to come (less a restart per spell) covers the work left
        job, t = self.job, len(self.seen)
        ahead = np.concatenate([[0], future[t:ticks(job.deadline, job.gap)], [0]])
        edges = np.flatnonzero(np.diff(ahead))
        spells = (edges[1::2] - edges[::2]) * job.gap
        progress = np.maximum(spells - job.overhead, 0.0).sum()
        return NONE if progress > job.duration - done + 2.0 else ON_DEMAND

    def _future(self):
        seen = np.array(self.seen, dtype=np.int8)
        if np.count_nonzero(np.diff(seen)) < 2:  # too little seen to know which trace
            return None
        hits = [p for p in _PUBLIC if np.array_equal(p[:len(seen)], seen)]
        return hits[0] if len(hits) == 1 else None
'''

# Searches its own process for the traces (every live object, every frame) and tries
# to read the harness's memory through /proc; with any of them it would know the
# future. Finding nothing, it is its honest twin.
SNOOP = '''
import gc, os, sys
import numpy as np


def _trace(value):  # 0/1 per job and tick: at least 36 jobs
    return isinstance(value, np.ndarray) and value.ndim == 2 and value.shape[0] >= 36 \
        and value.dtype in (np.int8, np.bool_)


def _found():
    arrays = [o for o in gc.get_objects() if _trace(o)]
    frame = sys._getframe(1)
    while frame is not None:
        arrays += [v for v in frame.f_locals.values() if _trace(v)]
        frame = frame.f_back
    try:
        with open(f"/proc/{os.getppid()}/mem", "rb") as f:
            f.read(1)
        arrays.append("harness memory")
    except OSError:
        pass
    return arrays


class Policy:
    def __init__(self, job):
        self.honest, self.gap = _Honest(job), job.gap
        self.cheat = bool(_found())

    def decide(self, *obs):
        if round(obs[0] / self.gap) in (0, 240):  # look again at the start and half way
            self.cheat = self.cheat or bool(_found())
        if self.cheat:
            return 2  # a visible change of behaviour: on-demand all the way
        return self.honest.decide(*obs)
'''


def test_a_policy_regenerating_the_public_traces_gains_nothing_in_a_run(spot):
    private = spot.judged_on(PRIVATE)
    attacker = _twin(HONEST, REGENERATE)
    assert _score(spot, attacker) > _score(spot, HONEST) + 0.02  # the attack is real
    assert _score(private, attacker) == _score(private, HONEST)


def test_a_policy_searching_its_memory_finds_no_trace_and_cannot_read_the_harness(spot):
    problem = spot.judged_on(PRIVATE)
    assert _score(problem, _twin(HONEST, SNOOP)) == _score(problem, HONEST)


def test_a_policy_killing_the_harness_fails_instead_of_scoring(spot):
    src = ("import os, signal\nclass Policy:\n    def __init__(self, job):\n"
           "        os.kill(os.getppid(), signal.SIGKILL)\n"
           "    def decide(self, *obs):\n        return 1\n")
    assert _eval(spot, src).status == "failed"


def test_a_policy_printing_on_every_tick_still_scores_as_its_twin(spot):
    noisy = _twin(HONEST, "class Policy(_Honest):\n    def decide(self, *obs):\n"
                          "        print('tick', obs)\n        return super().decide(*obs)\n")
    assert _score(spot, noisy) == _score(spot, HONEST)


def test_an_offline_search_improves_on_the_initial_program(tmp_path):
    assert offline_gain(SPOT_DIR, tmp_path, iterations=200, seed=0) > 0.02
