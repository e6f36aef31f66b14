"""The notebooks run top to bottom against archives made by short real searches."""

from pathlib import Path

import nbformat
import pytest
from conftest import FIXTURES
from nbclient import NotebookClient

from adrs.loop import Search
from adrs.runs import start_run

NOTEBOOKS = Path(__file__).parents[1] / "notebooks"


def _archive(tmp_path, name, seed):
    ctx = start_run(str(FIXTURES / "target_number"), name=name, db=None, archive=tmp_path,
                    config_file=None, overrides={"iterations": 25, "seed": seed,
                                                 "search": {"islands": 2}})
    Search(ctx, progress=False).run()
    return tmp_path / name


def _execute(name: str, cwd: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def _outputs(nb) -> str:
    return "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
                     for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs)


def test_the_tour_runs_on_a_real_archive(tmp_path, monkeypatch):
    monkeypatch.setenv("ADRS_TOUR_ARCHIVE", str(_archive(tmp_path, "toured", 0)))
    nb = _execute("tour", tmp_path)
    text = _outputs(nb)
    assert "'run': 'toured'" in text and "def guess" in text and "@@" in text
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if "image/png" in o.get("data", {})]
    assert len(images) == 3  # progress, lineage, time and failures


@pytest.mark.parametrize("name", ["compare"])
def test_the_comparison_runs_on_two_archives(tmp_path, monkeypatch, name):
    folders = [_archive(tmp_path, f"seed{s}", s) for s in (0, 1)]
    monkeypatch.setenv("ADRS_COMPARE_ARCHIVES", ",".join(str(f) for f in folders))
    text = _outputs(_execute(name, tmp_path))
    assert "seed0" in text and "seed1" in text
