"""What each dashboard page reads, as plain JSON-ready data, from the archive read
API (adrs.archive.RunView): no SQL here. Long series are thinned to at most
POINTS points, keeping the last, so a page stays light on a long run."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from typing import NamedTuple

from adrs.archive import RunView
from adrs.status import edit_table, prompt_table

POINTS = 1000


def _num(x):
    """A float JSON can carry (NaN and infinities become None)."""
    return x if isinstance(x, (int, float)) and math.isfinite(x) else None


def _thin(items: list) -> list:
    out = items[::_step(len(items))]
    if items and out[-1] is not items[-1]:
        out.append(items[-1])
    return out


def _step(n: int) -> int:
    """Every how many of n items _thin keeps one."""
    return max(1, math.ceil(n / POINTS))


def _kept(i: int, n: int, step: int) -> bool:
    return i % step == 0 or i == n - 1


def run_row(v: RunView, o: dict | None = None) -> dict:
    """One line of the runs page (aggregate queries only: cheap on any size)."""
    o = o or v.overview()
    seconds = o["elapsed_seconds"]
    if o["status"] == "running" and not seconds:  # stored when a controller stops
        seconds = (datetime.now(UTC).replace(tzinfo=None) - v.run.created_at).total_seconds()
    return {"name": v.name, "problem": v.run.problem, "status": o["status"],
            "iterations": o["iterations"], "target": o["target"], "best": _num(o["best"]),
            "initial": _num(o["initial"]),
            "baselines": {k: _num(x) for k, x in o["baselines"].items()},
            "cost": o["cost"], "max_cost": (v.config or {}).get("max_cost", 0.0),
            "started": v.run.created_at.isoformat(timespec="seconds") + "Z",
            "rate": _num(o["iterations"] / seconds) if seconds > 0 else None}


class _Page(NamedTuple):
    """A run page's heavy part, kept: what would change it, the part, when it was made
    and what it cost (seconds). A running run's part is remade at most once per
    REMAKE_AFTER times its cost, so pages polled on a huge run keep the dashboard's
    share of a core small."""

    state: tuple
    part: dict
    made: float
    cost: float


_PAGES: dict[tuple, _Page] = {}  # by (database URL, run id)
REMAKE_AFTER = 10.0


def _tables(v: RunView) -> tuple[list, dict | None]:
    """The edits and prompt-variant tables (a pass over every row)."""
    rows = v.store.outcomes(v.run.id)
    best = v.store.best(v.run.id, 1)
    return edit_table(rows), prompt_table(v.store, v.run.id, rows, best[0].id if best else None)


def _series(progress: list[dict], reasons: list[str]) -> list[dict]:
    """Per iteration (thinned as _thin would): best (overall, per island), seconds since
    the start, and the cumulative outcomes and failures (the `reasons` named, the rest
    as "other"); the counts run over every iteration, points are made for those kept."""
    counts, failed, out = {"ok": 0, "failed": 0, "duplicate": 0}, dict.fromkeys(reasons, 0), []
    failed["other"] = 0
    n, step = len(progress), _step(len(progress))
    for i, p in enumerate(progress):
        counts[p["status"]] = counts.get(p["status"], 0) + 1
        if p["status"] == "failed":
            key = p["failure"] if p["failure"] in reasons else "other"
            failed[key] += 1
        if _kept(i, n, step):
            out.append({"iteration": p["iteration"], "best": _num(p["best"]),
                        "islands": {str(k): _num(x) for k, x in p["islands"].items()},
                        **counts, "failures": dict(failed)})
    return out


def _over_time(progress: list[dict]) -> list[list]:
    """[seconds since the start, best score so far then]: in the order results arrived,
    which on a parallel run is not the iterations' order."""
    best, out = None, []
    for p in sorted((p for p in progress if p["seconds"] is not None),
                    key=lambda p: p["seconds"]):
        if p["status"] == "ok" and _num(p["score"]) is not None:
            best = p["score"] if best is None else max(best, p["score"])
        out.append([p["seconds"], best])
    return out


def _pareto(v: RunView) -> list[dict]:
    """The best candidates' numeric metrics, when they have two or more."""
    points = v.metric_points()
    names = {k for p in points for k in p["metrics"]}
    return points if len(names) >= 2 else []


def run_detail(v: RunView) -> dict:
    """The run page: progress over iterations and time, outcomes and failures, models
    over time, lineage, islands' populations, grid, Pareto points, prompts. All but the
    headline is recomputed only when the run has new candidates or LLM calls (and, while
    it runs, not before REMAKE_AFTER times the last recomputation's cost has passed), so
    a finished run's page costs aggregate queries only, however large the run."""
    o = v.overview()
    run = (v.store.url, v.run.id)
    state = (sum(o["by_status"].values()), sum(u["calls"] for u in o["models"].values()),
             o["status"])
    kept = _PAGES.get(run)
    now = time.monotonic()
    stale = kept is None or kept.state != state and (
        o["status"] != "running" or now - kept.made >= REMAKE_AFTER * kept.cost)
    if stale:
        if len(_PAGES) > 32:
            _PAGES.clear()
        part = _heavy(v, o)
        kept = _PAGES[run] = _Page(state, part, now, time.monotonic() - now)
    return {**run_row(v, o), **kept.part}


def _heavy(v: RunView, o: dict) -> dict:
    reasons = sorted(o["failures"], key=lambda k: -o["failures"][k])[:5]
    progress = v.progress()
    chain = v.chain_to_best()
    by_id = {r["id"]: r for r in v.records(chain)} if chain else {}
    cells = [{"cell": list(c), "id": i, "score": _num(s)} for c, (i, s) in v.grid().items()]
    edits, prompts = _tables(v)
    calls = [{**c, "cost": _num(c["cost"])} for c in v.calls_over_time()]
    return {"series": _series(progress, reasons), "failures": o["failures"],
            "calls": _thin(calls), "pareto": _pareto(v), "over_time": _thin(_over_time(progress)),
            "populations": {str(k): [{**m, "score": _num(m["score"])} for m in ms]
                            for k, ms in v.populations().items()},
            "duplicates": o["duplicates"], "eval_seconds_saved": o["eval_seconds_saved"],
            "models": o["models"], "edits": edits, "prompts": prompts,
            "islands": v.islands(), "grid": cells,
            "lineage": [{"id": i, "iteration": by_id[i]["iteration"],
                         "score": _num(by_id[i]["score"]), "mutation": by_id[i]["mutation"]}
                        for i in chain],
            "best_id": o["best_id"]}


def candidate(v: RunView, candidate_id: int) -> dict:
    """One candidate: program, diff against its parent, outcome, feedback, its call."""
    p = v.program(candidate_id)
    return {"id": p.id, "iteration": p.iteration, "parent_id": p.parent_id,
            "status": p.status, "score": _num(p.score), "source": p.source,
            "diff": v.diff(p.id), "mutation": p.mutation, "failure": p.failure,
            "error": p.error, "artifacts": p.artifacts,
            "metrics": {k: _num(x) if isinstance(x, float) else x
                        for k, x in (p.metrics or {}).items()},
            "call": v.call(p.id)}


def curves(views: list[RunView]) -> list[dict]:
    """The compare page: each run's best score over iterations."""
    return [{"name": v.name, "curve": _thin([[p["iteration"], _num(p["best"])]
                                              for p in v.progress()])} for v in views]
