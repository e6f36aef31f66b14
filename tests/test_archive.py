"""The archive read API, plots and the HTML report, on archives made by real searches."""

import subprocess
import sys
import time

import pytest
from conftest import FIXTURES
from matplotlib.figure import Figure
from sqlalchemy.exc import OperationalError

from adrs import archive, plots
from adrs.cli import main
from adrs.errors import UserError
from adrs.loop import Search
from adrs.mutate.fake_server import FakeOpenAIServer
from adrs.report import write_report
from adrs.runs import start_run

TARGET = str(FIXTURES / "target_number")


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """One offline run with islands and a grid, one LLM run against the fake server."""
    root = tmp_path_factory.mktemp("archives")
    search = {"islands": 2, "migration_interval": 10, "map_elites": True, "grid_bins": 4,
              "features": {"code_length": [40.0, 400.0], "guess": [-5.0, 10.0]}}
    ctx = start_run(TARGET, name="grid", db=None, archive=root, config_file=None,
                    overrides={"iterations": 40, "search": search})
    Search(ctx, progress=False).run()
    with FakeOpenAIServer() as server:
        llm = start_run(TARGET, name="llm", db=None, archive=root, config_file=None,
                        overrides={"iterations": 12, "mutator": {
                            "kind": "llm", "model": "fake", "base_url": server.url,
                            "prices": {"fake": [1.0, 2.0]}}})
        Search(llm, progress=False).run()
    return root


def test_candidates_best_programs_and_diffs(made):
    run = archive.open(made / "grid")
    df = run.candidates()
    assert len(df) == 41 and {"id", "iteration", "status", "score", "island"} <= set(df.columns)
    best = run.best(3)
    assert [b["score"] for b in best] == sorted((b["score"] for b in best), reverse=True)
    assert best[0]["score"] == df[df.status == "ok"].score.max()
    program = run.program(best[0]["id"])
    assert "def guess" in program.source and program.metrics["score"] == best[0]["score"]
    diff = run.diff(best[0]["id"])
    assert diff.startswith("--- candidate") and "\n+" in diff and "\n-" in diff
    with pytest.raises(UserError, match="no candidate 9999"):
        run.program(9999)


def test_lineage_ancestors_descendants_and_the_chain_to_best(made):
    run = archive.open(made / "grid")
    chain = run.chain_to_best()
    initial = next(r for r in run.records() if r["iteration"] == 0)
    assert chain[0] == initial["id"] and chain[-1] == run.best(1)[0]["id"]
    assert run.ancestors(chain[-1]) == list(reversed(chain[:-1]))
    everyone = {r["id"] for r in run.records() if r["parent_id"] is not None}
    assert set(run.descendants(initial["id"])) == everyone  # every child descends from it


def test_islands_grid_failures_models_and_cost(made):
    run = archive.open(made / "grid")
    assert {i["island"] for i in run.islands()} == {0, 1}
    cells = run.grid()
    assert cells and all(len(c) == 2 for c in cells)
    assert sum(run.failures().values()) == run.summary()["by_status"].get("failed", 0)
    llm = archive.open(made / "llm")
    assert llm.models()["fake"]["calls"] == 12
    costs = [s["cost"] for s in llm.cost_over_time()]
    assert costs == sorted(costs) and costs[-1] == pytest.approx(llm.models()["fake"]["cost"])


def test_without_pandas_candidates_are_records(made, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    rows = archive.open(made / "grid").candidates()
    assert isinstance(rows, list) and rows[0]["iteration"] == 0


def test_the_view_is_read_only_and_errors_name_the_fix(made, tmp_path):
    run = archive.open(made / "grid" / "adrs.db")
    with pytest.raises(OperationalError), run.store.engine.begin() as conn:
        conn.exec_driver_sql("delete from candidates")
    assert len(archive.open(made / "grid").records()) == 41
    with pytest.raises(UserError, match="no archive at"):
        archive.open(tmp_path / "nothing")


def test_reading_while_a_search_writes(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "adrs", "run", TARGET, "--iterations", "150",
                             "--name", "live", "--quiet"], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen = []
    db = tmp_path / "archive" / "live" / "adrs.db"
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if db.exists():
            try:
                run = archive.open(db.parent)
            except UserError:  # the run row is not written yet
                continue
            seen.append(len(run.records()))
            run.best(1), run.chain_to_best(), run.failures()
        time.sleep(0.05)
    assert proc.wait(60) == 0, proc.stderr.read()
    growing = [n for n in seen if n]
    assert len(set(growing)) >= 3 and growing == sorted(growing)  # read mid-run, repeatedly
    assert len(archive.open(db.parent).records()) == 151


def test_every_plot_is_a_figure(made):
    run = archive.open(made / "grid")
    for draw in (plots.progress, plots.grid_heatmap, plots.lineage, plots.cost_vs_best,
                 plots.time_and_failures):
        fig = draw(run)
        assert isinstance(fig, Figure) and fig.axes, draw.__name__
    assert len(plots.compare([run, archive.open(made / "llm")]).axes[0].lines) == 2


def test_the_report_is_one_self_contained_page(made, tmp_path, capsys):
    run = archive.open(made / "grid")
    page = write_report(run, tmp_path / "report").read_text()
    assert page.count("data:image/png;base64,") == 5  # all five figures, grid included
    assert "Best program" in page and "def guess" in page and "exact" in page  # a baseline
    assert f"{run.summary()['best_score']:.4f}" in page and "<script" not in page
    assert "mode=ro" not in page and str((made / "grid" / "adrs.db").resolve()) in page
    edits = run.summary()["edits"]  # the offline run's edit kinds, as `adrs status` shows
    assert edits and "Which edits paid" in page
    assert all(f"<td>{e['edit']}</td><td class=\"num\">{e['children']}</td>" in page
               for e in edits)
    assert main(["report", "llm", "--archive", str(made), "--out", str(tmp_path / "r2")]) == 0
    assert "wrote" in capsys.readouterr().out and (tmp_path / "r2" / "index.html").is_file()
    assert "Which edits paid" not in (tmp_path / "r2" / "index.html").read_text()  # no edits
