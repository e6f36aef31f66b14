"""`--start-from baselines`: the problem's baselines are candidates of generation 0,
beside the initial program, in every island; a resumed run does not evaluate them
again, and they are not counted as iterations. Donors are a validated setting."""

import pytest
from conftest import FIXTURES

from adrs.cli import main
from adrs.config import build
from adrs.errors import UserError
from adrs.loop import Search
from adrs.runs import resume_run, start_run
from adrs.status import run_status

TARGET = str(FIXTURES / "target_number")


def _start(tmp_path, **overrides):
    return start_run(TARGET, name="s", db=None, archive=tmp_path, config_file=None,
                     overrides={"iterations": 12, "workers": 2, **overrides})


def test_the_baselines_start_every_island_and_are_not_iterations(tmp_path):
    ctx = _start(tmp_path, start_from="baselines", search={"islands": 3})
    search = Search(ctx, progress=False)
    search.run()
    rows = ctx.store.history(ctx.run.id)
    seeded = [r for r in rows if r.iteration < 0]
    assert [(r.iteration, r.mutation, r.generation) for r in seeded] == [
        (-1, "baseline exact", 0)]
    exact = seeded[0]
    assert exact.status == "ok" and ctx.run.baselines == {"exact": exact.score}
    assert all(exact.id in {s.id for s in pop.members} for pop in search.state.islands)
    assert run_status(ctx.store, ctx.run)["iterations"] == 12
    # children of the baseline exist: it was a parent, as a member of generation 0
    assert any(r.parent_id == exact.id for r in rows if r.iteration > 0)


def test_a_resumed_run_keeps_its_seeded_baselines(tmp_path):
    ctx = _start(tmp_path, start_from="baselines")
    Search(ctx, progress=False).run()
    again = resume_run("s", db=None, archive=tmp_path, iterations=16)
    Search(again, progress=False).run()
    rows = again.store.history(again.run.id)
    assert [r.iteration for r in rows if r.iteration < 0] == [-1]
    assert max(r.iteration for r in rows) == 16


def test_the_flag_and_the_donors_setting_are_checked(tmp_path, capsys):
    assert main(["run", TARGET, "--iterations", "3", "--start-from", "baselines",
                 "--archive", str(tmp_path), "--name", "f", "--quiet"]) == 0
    assert "baselines" in capsys.readouterr().out
    with pytest.raises(UserError, match="'mutator.donors' must be one of both, baselines"):
        build({"mutator": {"donors": "everything"}})
    with pytest.raises(UserError, match="'start_from' must be one of initial, baselines"):
        build({"start_from": "best"})
