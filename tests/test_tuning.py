"""Constant tuning: literals found and rewritten in place, tuned with optuna against the
sandboxed evaluator, the best program recorded as a child, the study kept in the run DB."""

import optuna
import pytest
from conftest import FIXTURES

from adrs.cli import main
from adrs.errors import UserError
from adrs.loop import Search
from adrs.runs import existing_run, resume_run, start_run
from adrs.tuning import find_literals, substitute, tune_candidate

PROGRAM = """import math
# EVOLVE-BLOCK-START
def f(x):
    y = 0.5 * x + 2   # an int is not tuned
    return y - 1e-3 + (-0.25) + math.pi
# EVOLVE-BLOCK-END
LIMIT = 9.5
"""


def test_float_literals_in_the_region_are_found_and_rewritten_in_place():
    lits = find_literals(PROGRAM)
    assert [lit.value for lit in lits] == [0.5, 1e-3, 0.25]  # -0.25 is a unary minus on 0.25
    out = substitute(PROGRAM, lits, [0.75, 0.002, 1.5])
    assert "y = 0.75 * x + 2   # an int is not tuned" in out
    assert "return y - 0.002 + (-1.5) + math.pi" in out and out.endswith("LIMIT = 9.5\n")


def _ctx(tmp_path, iterations=0):
    ctx = start_run(str(FIXTURES / "target_number"), name="t", db=None, archive=tmp_path,
                    config_file=None, overrides={"iterations": iterations})
    Search(ctx, progress=False).run()
    return ctx


def test_tuning_improves_bad_constants_and_records_a_child_with_its_study(tmp_path):
    ctx = _ctx(tmp_path)  # only the initial program: 0.5 * scale + 1.0 = 1.5, target 3.7
    initial = ctx.store.initial(ctx.run.id)
    cid, result = tune_candidate(existing_run("t", db=None, archive=tmp_path), initial.id, 25)
    child = ctx.store.get_candidate(cid)
    assert child.parent_id == initial.id and child.iteration == 1 and child.status == "ok"
    assert child.score > -0.3 > initial.score == pytest.approx(-2.2)
    assert "tuned constants (25 trials" in child.mutation
    study = optuna.load_study(study_name=result.study_name, storage=ctx.store.url)
    assert len(study.trials) == 25 and study.best_value == pytest.approx(child.score)
    assert study.trials[0].value == pytest.approx(-2.2)  # the program as it was, first
    again = resume_run("t", db=None, archive=tmp_path, iterations=4)  # the run goes on
    Search(again, progress=False).run()
    assert [r.iteration for r in again.store.history(again.run.id)] == [0, 1, 2, 3, 4]


def test_adrs_tune_from_the_command_line(tmp_path, capsys, monkeypatch):
    _ctx(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["tune", "t", "1", "--trials", "8", "--archive", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "tuned candidate 1 (-2.200000) in 8 trials: candidate 2 scores" in out
    assert main(["tune", "t", "99", "--archive", str(tmp_path)]) == 2
    assert "has no candidate 99" in capsys.readouterr().err


def test_a_program_without_float_literals_is_refused(tmp_path):
    from adrs.tuning import tune

    ctx = _ctx(tmp_path)

    with pytest.raises(UserError, match="no float literals"):
        tune(ctx, "def guess(scale):\n    return scale\n", 3, "x")


def test_tuning_as_an_operator_inside_a_search_is_reproducible(tmp_path):
    def run(name):
        ctx = start_run(str(FIXTURES / "target_number"), name=name, db=None, archive=tmp_path,
                        config_file=None, overrides={
                            "iterations": 12,
                            "mutator": {"tune_probability": 0.3, "tune_trials": 6}})
        Search(ctx, progress=False).run()
        return [(r.iteration, r.syntactic_hash, r.score, r.mutation)
                for r in ctx.store.history(ctx.run.id)]

    first, second = run("a"), run("b")
    tuned = [r for r in first if r[3] and r[3].startswith("tuned constants")]
    assert tuned and max(r[2] for r in tuned if r[2] is not None) > -2.2
    assert [r[:3] for r in first] == [r[:3] for r in second]
