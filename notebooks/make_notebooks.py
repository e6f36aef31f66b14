"""Writes the notebooks in this folder from the cells below (run after editing them).

    python notebooks/make_notebooks.py

The test suite executes both notebooks top to bottom (tests/test_notebooks.py).
"""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).parent

MAKE_RUN = '''import os
import subprocess
import sys
from pathlib import Path


def ensure_run(folder, *args):
    """Use the archive if it exists; otherwise make it with a short real search."""
    folder = Path(folder)
    if not (folder / "adrs.db").exists():
        subprocess.run([sys.executable, "-m", "adrs", "run", "moe_expert_placement",
                        "--name", folder.name, "--archive", str(folder.parent), "--quiet",
                        *args], check=True, capture_output=True)
    return folder
'''

TOUR = [
    new_markdown_cell("# A tour of an adrs archive\n\nLoad a run, see how the score "
                      "improved, read the best program and the diff that made it, follow "
                      "its lineage, and see where time went and why children failed. "
                      "Point `ADRS_TOUR_ARCHIVE` at your own run folder; without it, a "
                      "40-iteration search is made first (about 10 s)."),
    new_code_cell(MAKE_RUN + '\nARCHIVE = ensure_run(os.environ.get("ADRS_TOUR_ARCHIVE", '
                  '"archive/tour"), "--iterations", "40")'),
    new_code_cell("%matplotlib inline\nimport adrs.archive\nfrom adrs import plots\n\n"
                  "run = adrs.archive.open(ARCHIVE)\nsummary = run.summary()\n"
                  "keys = ('run', 'problem', 'iterations', 'initial_score', 'best_score', "
                  "'baselines')\n{k: summary[k] for k in keys}"),
    new_markdown_cell("Every candidate, one row each (a pandas DataFrame):"),
    new_code_cell("df = run.candidates()\ndf.groupby('status').size()"),
    new_code_cell("plots.progress(run)"),
    new_markdown_cell("The best program, and what its last mutation changed:"),
    new_code_cell("best = run.best(1)[0]\nprint(run.program(best['id']).source)"),
    new_code_cell("print(run.diff(best['id']))"),
    new_markdown_cell("How it got there, from the initial program:"),
    new_code_cell("chain = run.chain_to_best()\n"
                  "[(run.program(c).iteration, round(run.program(c).score, 4), "
                  "run.program(c).mutation) for c in chain]"),
    new_code_cell("plots.lineage(run)"),
    new_markdown_cell("Where evaluation time went, and why children failed:"),
    new_code_cell("run.failures()"),
    new_code_cell("plots.time_and_failures(run)"),
    new_code_cell("run.islands()"),
]

COMPARE = [
    new_markdown_cell("# Comparing runs\n\nTwo seeds of the same search side by side. Set "
                      "`ADRS_COMPARE_ARCHIVES` to a comma-separated list of run folders to "
                      "compare your own; without it, two 30-iteration searches are made."),
    new_code_cell(MAKE_RUN + '\nfolders = os.environ.get("ADRS_COMPARE_ARCHIVES")\n'
                  'if folders:\n    FOLDERS = [Path(f) for f in folders.split(",")]\n'
                  'else:\n    FOLDERS = [ensure_run(f"archive/compare-seed{s}",\n'
                  '                          "--iterations", "30", "--seed", str(s))\n'
                  '               for s in (0, 1)]'),
    new_code_cell("%matplotlib inline\nimport pandas as pd\n\nimport adrs.archive\n"
                  "from adrs import plots\n\nruns = [adrs.archive.open(f) for f in FOLDERS]\n"
                  "keys = ('run', 'seed', 'best_score', 'initial_score')\n"
                  "pd.DataFrame([{**{k: r.summary()[k] for k in keys},\n"
                  "               'evaluated': sum(x['status'] != 'duplicate'\n"
                  "                                for x in r.records())} for r in runs])"),
    new_code_cell("plots.compare(runs)"),
]


def main() -> None:
    for name, cells in (("tour", TOUR), ("compare", COMPARE)):
        nb = new_notebook(cells=cells, metadata={"kernelspec": {
            "name": "python3", "display_name": "Python 3", "language": "python"}})
        nbformat.write(nb, HERE / f"{name}.ipynb")


if __name__ == "__main__":
    main()
