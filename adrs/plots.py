"""Plots of a run (matplotlib): each function takes a RunView and returns a Figure.

    from adrs import archive, plots
    run = archive.open("archive/my-run")
    plots.progress(run).savefig("progress.png")

matplotlib is a default dependency. Nothing is shown: save or display the Figure.
"""

from __future__ import annotations

import numpy as np

from adrs.archive import RunView


def _figure(ncols: int = 1, figsize=(8, 4.5)):
    """A Figure outside pyplot's registry: notebooks show it once (as the value
    returned), and nothing accumulates in a long-running process."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        from adrs.errors import UserError

        raise UserError("plots need matplotlib: pip install matplotlib") from None
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(1, ncols)


def _children(ax, rows) -> None:
    """Every successful child's score, faint, as the backdrop of a progress plot."""
    ok = [(r["iteration"], r["score"]) for r in rows if r["status"] == "ok"]
    if ok:
        ax.scatter(*zip(*ok, strict=True), s=8, alpha=0.3, color="grey", label="children")


def _done(fig, ax, **labels):
    ax.set(**labels)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def progress(run: RunView):
    """Best score so far per iteration (per island when there are several), and the
    scores of successful children."""
    fig, ax = _figure()
    _children(ax, run.records())
    steps = run.progress()
    x = [p["iteration"] for p in steps]
    ax.step(x, [p["best"] for p in steps], where="post", color="black", lw=2, label="best")
    islands = sorted({k for p in steps for k in p["islands"]})
    if len(islands) > 1:
        for k in islands:
            ax.step(x, [p["islands"].get(k, np.nan) for p in steps], where="post", lw=1,
                    label=f"island {k}")
    for name, score in sorted(run.baselines.items()):
        if score is not None:
            ax.axhline(score, ls="--", lw=1, alpha=0.7)
            ax.annotate(name, (x[-1] if x else 0, score), fontsize=8, ha="right", va="bottom")
    ax.legend(loc="lower right", fontsize=8)
    return _done(fig, ax, xlabel="iteration", ylabel="score",
                 title=f"{run.name}: best score so far")


def grid_heatmap(run: RunView):
    """MAP-Elites: the best score in each cell of the first two features."""
    cells = run.grid()
    fig, ax = _figure(figsize=(5.5, 4.5))
    if not cells:
        ax.text(0.5, 0.5, "no MAP-Elites grid in this run\n(search.map_elites = true)",
                ha="center", va="center")
        ax.set_axis_off()
        return fig
    bins = run.config["search"]["grid_bins"]
    names = list(run.config["search"]["features"])
    heat = np.full((bins, bins), np.nan)
    for cell, (_, score) in cells.items():
        row = cell[1] if len(cell) > 1 else 0
        heat[row, cell[0]] = np.nanmax([heat[row, cell[0]], score])
    image = ax.imshow(heat, origin="lower", cmap="viridis")
    fig.colorbar(image, ax=ax, label="best score in cell")
    ax.set(xlabel=names[0], ylabel=names[1] if len(names) > 1 else "",
           title=f"{run.name}: {len(cells)} of {bins ** min(2, len(names))} cells filled")
    fig.tight_layout()
    return fig


def lineage(run: RunView, candidate_id: int | None = None):
    """The chain from the initial program to the best (or given) candidate, over every
    child's score, each step labelled with its mutation."""
    rows = {r["id"]: r for r in run.records()}
    chain = run.chain_to_best() if candidate_id is None else \
        list(reversed(run.ancestors(candidate_id))) + [candidate_id]
    fig, ax = _figure()
    _children(ax, rows.values())
    pts = [(rows[c]["iteration"], rows[c]["score"]) for c in chain]
    if pts:
        ax.plot(*zip(*pts, strict=True), "-o", color="C3", lw=2)
    for k, (c, (x, y)) in enumerate(zip(chain[1:], pts[1:], strict=True)):
        label = (rows[c]["mutation"] or "").split(":")[-1].strip()[:28]
        ax.annotate(label, (x, y), fontsize=7, xytext=(6, -12 - 10 * (k % 3)),
                    textcoords="offset points")
    return _done(fig, ax, xlabel="iteration", ylabel="score",
                 title=f"{run.name}: lineage of candidate {chain[-1] if chain else '-'}")


def cost_vs_best(run: RunView):
    """Best score against LLM money spent (or against iterations for an offline run)."""
    steps = run.cost_over_time()
    fig, ax = _figure(figsize=(6, 4))
    spent = steps and steps[-1]["cost"] > 0
    x = [s["cost"] if spent else s["iteration"] for s in steps]
    ax.step(x, [s["best"] for s in steps], where="post")
    return _done(fig, ax, xlabel="LLM cost (USD)" if spent else "iteration (no LLM cost "
                 "recorded)", ylabel="best score", title=f"{run.name}: what the score cost")


def time_and_failures(run: RunView):
    """Where evaluation time went, and why children failed."""
    fig, (left, right) = _figure(2, figsize=(10, 4))
    seconds = [r["eval_seconds"] for r in run.records()
               if r["eval_seconds"] and r["status"] != "duplicate"]
    left.hist(seconds or [0.0], bins=30)
    left.set(xlabel="seconds per evaluation", ylabel="children",
             title=f"{len(seconds)} evaluations, {sum(seconds):.1f} s")
    failures = sorted(run.failures().items(), key=lambda kv: kv[1])
    right.barh([k for k, _ in failures] or ["none"], [v for _, v in failures] or [0])
    right.set(xlabel="children", title="failures by reason")
    fig.tight_layout()
    return fig


def compare(runs: list[RunView]):
    """Best score so far of several runs (e.g. seeds or strategies) on one axis."""
    fig, ax = _figure()
    for run in runs:
        steps = run.progress()
        ax.step([p["iteration"] for p in steps], [p["best"] for p in steps], where="post",
                label=run.name)
    ax.legend(fontsize=8)
    return _done(fig, ax, xlabel="iteration", ylabel="best score so far",
                 title="runs compared")
