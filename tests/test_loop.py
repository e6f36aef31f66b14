"""The controller: improvement, reproducibility, resume, and failures that do not stop a run."""

import numpy as np
import pytest
from conftest import FIXTURES

from adrs.errors import UserError
from adrs.loop import Search
from adrs.mutate import Mutation, Mutator
from adrs.runs import resume_run, start_run
from adrs.status import run_status

TARGET = str(FIXTURES / "target_number")


def _rows(store, run, columns="c.syntactic_hash, c.status, c.score, o.iteration",
          link="parent_id"):
    """Each candidate in iteration order, with the iteration of the candidate `link` names.

    Runs are compared by iterations because ids follow completion order, not seeds.
    """
    with store.engine.connect() as conn:
        return conn.exec_driver_sql(
            f"select c.iteration, {columns} from candidates c "
            f"left join candidates o on o.id = c.{link} "
            f"where c.run_id={run.id} order by c.iteration").fetchall()


def test_a_short_offline_search_improves_the_score(make_ctx, target_problem):
    ctx = make_ctx(target_problem, iterations=40)
    Search(ctx, progress=False).run()
    st = run_status(ctx.store, ctx.run)
    assert st["status"] == "finished" and st["iterations"] == 40
    assert st["best_score"] > st["initial_score"]
    assert st["baselines"] == {"exact": 0.0}


def test_same_seed_same_run_whatever_the_worker_count(make_ctx, target_problem):
    a = make_ctx(target_problem, name="a", iterations=25, workers=1, seed=3)
    b = make_ctx(target_problem, name="b", iterations=25, workers=2, seed=3)
    c = make_ctx(target_problem, name="c", iterations=25, workers=2, seed=4)
    for ctx in (a, b, c):
        Search(ctx, progress=False).run()
    assert _rows(a.store, a.run) == _rows(b.store, b.run)
    assert _rows(a.store, a.run) != _rows(c.store, c.run)


def test_resume_continues_exactly_where_the_run_stopped(tmp_path):
    archive = tmp_path / "archive"
    straight = start_run(TARGET, name="straight", db=None, archive=archive, config_file=None,
                         overrides={"iterations": 30})
    Search(straight, progress=False).run()
    part = start_run(TARGET, name="part", db=None, archive=archive, config_file=None,
                     overrides={"iterations": 12})
    Search(part, progress=False).run()
    resumed = resume_run("part", db=None, archive=archive, iterations=30)
    Search(resumed, progress=False).run()
    assert len(_rows(resumed.store, resumed.run)) == 31
    assert _rows(resumed.store, resumed.run) == _rows(straight.store, straight.run)


def test_resume_redoes_iterations_that_were_lost(tmp_path):
    archive = tmp_path / "archive"
    ctx = start_run(TARGET, name="r", db=None, archive=archive, config_file=None,
                    overrides={"iterations": 20})
    Search(ctx, progress=False).run()
    full = _rows(ctx.store, ctx.run)
    with ctx.store.engine.begin() as conn:  # as if iterations 15 and 17 were in flight at a crash
        conn.exec_driver_sql("delete from candidates where iteration in (15, 17)")
    again = resume_run("r", db=None, archive=archive)
    Search(again, progress=False).run()
    assert [r[:4] for r in _rows(again.store, again.run)] == [r[:4] for r in full]


class HostileMutator(Mutator):
    """Cycles through candidates that misbehave in every way the sandbox must contain."""

    PROGRAMS = [
        "def guess(scale):\n    while True:\n        pass\n",
        "import numpy as np\ndef guess(scale):\n    return float(np.ones(10 * 2**30 // 8).sum())\n",
        "import os\ndef guess(scale):\n    while True:\n        os.fork()\n",
        "import os\ndef guess(scale):\n    return float(len(os.environ['OPENAI_API_KEY']))\n",
        "def guess(scale):\n    raise RuntimeError('nope')\n",
        "def guess(scale):\n    return [1, 2, 3]\n",
        "def guess(scale):\n    return 3.5\n",
    ]

    def mutate(self, request, rng):
        i = int(rng.integers(1 << 30))
        src = self.PROGRAMS[i % len(self.PROGRAMS)] + f"# variant\nVARIANT = {i}\n"
        return Mutation(src, "hostile")


def test_hostile_candidates_are_recorded_failures_and_the_run_goes_on(
        make_ctx, target_problem, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret")
    ctx = make_ctx(target_problem, iterations=21, seed=1,
                   sandbox={"wall_seconds": 2.0, "cpu_seconds": 5, "memory_mb": 1024})
    Search(ctx, mutator=HostileMutator(), progress=False).run()
    st = run_status(ctx.store, ctx.run)
    assert st["status"] == "finished" and st["iterations"] == 21
    assert {"timeout", "memory", "exception", "invalid_output"} <= set(
        st["failures"])
    assert st["best_score"] == pytest.approx(-0.2)
    with ctx.store.engine.connect() as conn:
        errors = [r[0] for r in conn.exec_driver_sql("select error from candidates")]
    assert not any("sk-test-secret" in (e or "") for e in errors)
    assert any("KeyError: 'OPENAI_API_KEY'" in (e or "") for e in errors)


def test_a_failing_initial_program_stops_with_a_clear_error(make_ctx, target_problem):
    broken = type(target_problem)(**{**target_problem.__dict__,
                                     "initial_source": "def guess(scale):\n    return 1/0\n"})
    ctx = make_ctx(broken, iterations=5)
    with pytest.raises(UserError, match="initial program .* fails .*ZeroDivisionError"):
        Search(ctx, progress=False).run()


def test_duplicates_are_not_evaluated_twice(make_ctx, target_problem):
    class Same(Mutator):
        def mutate(self, request, rng):
            return Mutation("def guess(scale):\n    return 2.0\n", "same")

    ctx = make_ctx(target_problem, iterations=10)
    Search(ctx, mutator=Same(), progress=False).run()
    st = run_status(ctx.store, ctx.run)
    assert st["by_status"] == {"ok": 2, "duplicate": 9}
    rows = _rows(ctx.store, ctx.run)
    assert all(r[3] == pytest.approx(-1.7) for r in rows[2:])


def test_population_summary_stays_bounded(make_ctx, target_problem):
    ctx = make_ctx(target_problem, iterations=30, search={"elite_pool": 4})
    search = Search(ctx, progress=False)
    search.run()
    elites = search.state.islands[0].elites
    assert len(elites) == 4 and len(search.state.archive.elites) == 4
    assert len(search.stages.parents) <= 16
    assert np.all(np.diff([e.score for e in elites]) <= 0)


class ValueMutator(Mutator):
    """Syntactically new every time, but only five behaviours: many functional duplicates."""

    def mutate(self, request, rng):
        v, i = int(rng.integers(5)), int(rng.integers(1 << 30))
        return Mutation(f"def guess(scale):\n    unused = {i}\n    return {v}.0 + 0.0 * unused\n",
                        f"value {v}")


def _dups(store, run):
    return _rows(store, run, "c.duplicate_kind, o.iteration, c.eval_seconds, c.score",
                 link="duplicate_of")


def test_functional_duplicates_reuse_the_first_result_without_a_full_evaluation(
        make_ctx, target_problem):
    ctx = make_ctx(target_problem, iterations=30, seed=2)
    Search(ctx, mutator=ValueMutator(), progress=False).run()
    st = run_status(ctx.store, ctx.run)
    assert st["by_status"]["ok"] <= 6  # the initial program and at most five behaviours
    assert st["duplicates"]["functional"] == 31 - st["by_status"]["ok"]
    rows = _dups(ctx.store, ctx.run)
    firsts = {}
    for it, kind, orig, _, score in rows:
        if kind == "functional":
            assert orig < it and score == rows[orig][4]
        else:
            firsts[score] = it
    assert len(firsts) == st["by_status"]["ok"]
    assert st["probe_seconds"] > 0 and st["eval_seconds_saved"] >= 0


def test_functional_duplicate_decisions_do_not_depend_on_worker_count(make_ctx, target_problem):
    runs = [make_ctx(target_problem, name=f"w{w}", iterations=30, seed=5, workers=w)
            for w in (1, 2, 4)]
    for ctx in runs:
        Search(ctx, mutator=ValueMutator(), progress=False).run()
    strip = [[r[:3] for r in _dups(c.store, c.run)] for c in runs]
    assert strip[0] == strip[1] == strip[2]


class SameBehaviour(Mutator):
    """Always the initial program's behaviour, written differently each time."""

    def mutate(self, request, rng):
        return Mutation(f"def guess(scale):\n    unused = {int(rng.integers(1 << 30))}\n"
                        "    return 0.5 * scale + 1.0 + 0.0 * unused\n", "same behaviour")


def test_noisy_problems_reevaluate_every_kth_equivalent_and_keep_a_running_mean(make_ctx):
    from adrs.problem import find_problem

    noisy = find_problem(str(FIXTURES / "noisy_number"))
    ctx = make_ctx(noisy, iterations=12, hashing={"reevaluate_every": 3})
    Search(ctx, mutator=SameBehaviour(), progress=False).run()
    rows = _dups(ctx.store, ctx.run)
    assert all(r[1] == "functional" and r[2] == 0 for r in rows[1:])
    with ctx.store.engine.connect() as conn:
        samples = [m for (m,) in conn.exec_driver_sql(
            "select json_extract(metrics, '$.noise') from candidates "
            f"where run_id={ctx.run.id} and (iteration = 0 or status = 'duplicate') "
            "order by iteration")]
    fresh = [i for i in range(1, 13) if i % 3 == 0]  # the 3rd, 6th, ... equivalents
    assert len({samples[0], *(samples[i] for i in fresh)}) == 1 + len(fresh)
    assert all(samples[i] == samples[0] for i in range(1, 13) if i not in fresh)
    initial = ctx.store.initial(ctx.run.id)
    assert initial.metrics["score_samples"] == 1 + len(fresh)
    expected = np.mean([-2.2 + samples[0]] + [-2.2 + samples[i] for i in fresh])
    assert initial.score == pytest.approx(expected)


def test_deterministic_problems_never_reevaluate_equivalents(make_ctx, target_problem):
    ctx = make_ctx(target_problem, iterations=8, hashing={"reevaluate_every": 1})
    Search(ctx, mutator=SameBehaviour(), progress=False).run()
    assert ctx.store.initial(ctx.run.id).metrics.get("score_samples") is None
    assert run_status(ctx.store, ctx.run)["duplicates"] == {"functional": 8}


class SaltedValues(Mutator):
    """Three behaviours on the probes, each copy salted differently in full evaluations."""

    def mutate(self, request, rng):
        v, n = int(rng.integers(3)), int(rng.integers(1 << 30))
        return Mutation(f"def guess(scale, salt=0.0):\n    unused = {n}\n"
                        f"    return {v + 1}.0 + 0.0 * unused + salt * {n % 97} * 1e-3\n",
                        f"value {v}")


def _full_score(source):
    """What salted_number scores a program's full evaluation (see SaltedValues)."""
    if "unused" not in source:
        return -2.2
    n = int(source.split("unused = ")[1].split("\n")[0])
    v = float(source.split("return ")[1].split(".0")[0])
    return -abs(v + (n % 97) * 1e-3 - 3.7)


def test_noisy_rescoring_happens_at_reveal_time_whatever_the_worker_count(make_ctx):
    from adrs.problem import find_problem

    salted = find_problem(str(FIXTURES / "salted_number"))
    runs = [make_ctx(salted, name=f"w{w}", iterations=40, seed=9, workers=w,
                     hashing={"reevaluate_every": 2}, search={"in_flight": 4})
            for w in (1, 2, 4)]
    for ctx in runs:
        Search(ctx, mutator=SaltedValues(), progress=False).run()
    archives = [_rows(c.store, c.run, "c.status, c.score, c.score_sample, o.iteration")
                for c in runs]
    assert archives[0] == archives[1] == archives[2]
    ctx = runs[0]
    with ctx.store.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "select id, source, score, status, duplicate_of, score_sample, "
            "json_extract(metrics, '$.score_samples') from candidates "
            f"where run_id={ctx.run.id}").fetchall()
    samples = {}
    for _, source, score, _, of, sample, _ in rows:
        if sample is not None:
            assert sample == "folded" and score == pytest.approx(_full_score(source))
            samples.setdefault(of, []).append(score)
    assert sum(map(len, samples.values())) >= 5  # the rescoring was exercised
    for cid, source, score, _, _, _, count in rows:
        if cid in samples:  # an original: the mean of its own score and every sample's
            assert count == 1 + len(samples[cid])
            assert score == pytest.approx(np.mean([_full_score(source), *samples[cid]]))
