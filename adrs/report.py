"""`adrs report RUN`: one self-contained HTML page about a run.

Plots are embedded as PNG data, so the page can be mailed or attached to a
paper's supplement as one file: scores vs the initial program and baselines,
outcomes and costs, the plots of adrs.plots, the best program, the chain of
diffs from the initial program to it, and the run's configuration.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import jinja2

from adrs import plots
from adrs.archive import RunView

TEMPLATE = Path(__file__).parent / "templates" / "report.html.jinja"
FIGURES = [("best score over iterations", plots.progress),
           ("lineage of the best program", plots.lineage),
           ("what the score cost", plots.cost_vs_best),
           ("evaluation time and failures", plots.time_and_failures),
           ("MAP-Elites grid", plots.grid_heatmap)]


def write_report(run: RunView, out: Path) -> Path:
    """Write the run's HTML report (index.html, figures embedded) into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    st = {**run.summary()}
    st["db"] = _shown_db(st["db"])
    chain = run.chain_to_best()
    best = run.program(chain[-1]) if chain else None
    page = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
        TEMPLATE.read_text()).render(
        run=run, st=st, num=_num, figures=_figures(run),
        best=best or _nothing(), chain=[_step(run, c) for c in chain],
        config=json.dumps(run.config, indent=2, sort_keys=True))
    path = out / "index.html"
    path.write_text(page)
    return path


def _figures(run: RunView) -> list[tuple[str, str]]:
    has_grid = bool(run.grid())
    return [(title, _png(draw(run))) for title, draw in FIGURES
            if draw is not plots.grid_heatmap or has_grid]


def _num(x) -> str:
    return "n/a" if x is None else f"{x:.4f}"


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _step(run: RunView, candidate_id: int) -> dict:
    p = run.program(candidate_id)
    lines = [{"kind": _kind(line), "text": line.rstrip("\n")}
             for line in run.diff(candidate_id).splitlines()]
    return {"iteration": p.iteration, "score": p.score, "mutation": p.mutation or "",
            "diff": lines or [{"kind": "", "text": p.source}]}


def _kind(line: str) -> str:
    if line.startswith("@@"):
        return "hunk"
    if line.startswith("+") and not line.startswith("+++"):
        return "add"
    if line.startswith("-") and not line.startswith("---"):
        return "del"
    return ""


def _nothing():
    return {"source": "(no successful candidate yet)", "metrics": {}, "artifacts": {}}


def _shown_db(url: str) -> str:
    """The archive as the user named it: a read-only SQLite URI shown as its file."""
    for prefix in ("sqlite:///file:", "sqlite:///file%3A"):
        if url.startswith(prefix):
            return url[len(prefix):].split("?", 1)[0]
    return url
