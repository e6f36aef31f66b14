"""Read API for archives, for notebooks and reports: `adrs.archive.open(...)`.

    import adrs.archive
    run = adrs.archive.open("archive/my-run")        # a run folder, a .db file or a URL
    run.candidates()                                  # a DataFrame (or records without pandas)
    print(run.diff(run.best()[0]["id"]))              # what the best changed vs its parent
    run.chain_to_best()                               # initial program -> ... -> best

Read-only: SQLite archives are opened with `mode=ro`, so a notebook can read a
run while the search is still writing to it (WAL lets readers and the writer
proceed together). Nothing here runs candidate code.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from pathlib import Path

from adrs.errors import UserError
from adrs.store import Store
from adrs.store.database import open_read_only
from adrs.store.plain import RunRow

DB_FILE = "adrs.db"
COLUMNS = ("id", "iteration", "parent_id", "other_parent_id", "island", "generation",
           "status", "score", "failure", "duplicate_kind", "duplicate_of", "mutation",
           "eval_seconds", "evaluated_on", "model", "cost", "tokens_in", "tokens_out")


def open(where: str | Path, run: str | None = None) -> RunView:  # noqa: A001 - the API's verb
    """A read-only view of one run: `where` is a run folder, a .db file or a database URL;
    `run` picks the run when the database holds several."""
    store, runs = open_read_only(where, DB_FILE)
    if run is None and len(runs) == 1:
        return RunView(store, runs[0])
    chosen = next((r for r in runs if r.name == run), None)
    if chosen is None:
        names = ", ".join(r.name for r in runs) or "none"
        raise UserError(f"{'pass run=NAME' if run is None else f'no run {run!r}'} "
                        f"for {where}; runs there: {names}")
    return RunView(store, chosen)


@dataclass(frozen=True)
class Program:
    """One candidate as a notebook sees it: its program, outcome and feedback."""

    id: int
    iteration: int
    parent_id: int | None
    status: str
    score: float | None
    metrics: dict
    source: str
    mutation: str | None
    failure: str | None
    error: str | None
    artifacts: dict  # the evaluator's text feedback, name -> text


class ModelReads:
    """What a run's model calls wrote: the call behind a candidate, the prompt variants
    and the insight notes of evolving prompts (RunView's, kept apart)."""

    store: Store
    run: RunRow

    def call(self, candidate_id: int) -> dict | None:
        """The LLM call that wrote the candidate: model, prompt, reply (None: offline)."""
        c = self.store.get_candidate(candidate_id)
        if c is None or c.run_id != self.run.id or c.llm_call_id is None:
            return None
        call = self.store.llm_call(c.llm_call_id)
        return {"model": call.model, "prompt": call.prompt, "response": call.response,
                "error": call.error, "tokens_in": call.tokens_in,
                "tokens_out": call.tokens_out, "cost": call.cost}

    def prompt_variants(self) -> list[dict]:
        """Every prompt variant (evolving prompts): text, parent, author, the iteration it
        appeared and was retired, its children and how many beat their parent."""
        from adrs.status import prompt_table

        best = self.store.best(self.run.id, 1)
        table = prompt_table(self.store, self.run.id, self.store.history(self.run.id),
                             best[0].id if best else None) or {"variants": []}
        return sorted(table["variants"], key=lambda v: v["id"])

    def notes(self) -> list[dict]:
        """Every insight note, dropped ones included (`dropped_at`)."""
        return [{"id": n.id, "island": n.island, "text": n.text, "iteration": n.iteration,
                 "dropped_at": n.dropped_at} for n in self.store.insight_notes(self.run.id)]


    def calls_over_time(self) -> list[dict]:
        """Per LLM call, in order (`n`, from 1): the iteration it served, its model and
        purpose, and that model's cumulative calls, tokens and cost."""
        totals: dict[str, list] = {}
        out = []
        for iteration, model, tokens, cost, purpose in self.store.call_series(self.run.id):
            t = totals.setdefault(model, [0, 0, 0.0])
            t[0], t[1], t[2] = t[0] + 1, t[1] + (tokens or 0), t[2] + (cost or 0.0)
            out.append({"n": len(out) + 1, "iteration": iteration, "model": model,
                        "purpose": purpose,
                        "calls": t[0], "tokens": t[1], "cost": t[2]})
        return out


class PopulationReads:
    """What the search's populations hold now: each island's best, the best
    candidates' metrics (a Pareto view)."""

    store: Store
    run: RunRow

    def populations(self, per_island: int = 8) -> dict[int, list[dict]]:
        """Island -> its `per_island` best scored candidates (id, iteration, score)."""
        out: dict[int, list[dict]] = {}
        for island, cid, iteration, score in self.store.island_members(self.run.id,
                                                                        per_island):
            out.setdefault(island, []).append({"id": cid, "iteration": iteration,
                                               "score": score})
        return out

    def metric_points(self, limit: int = 2000) -> list[dict]:
        """The best `limit` scored candidates' numeric metrics (for a Pareto view)."""
        return [{"id": cid, "iteration": it, "metrics": {
            k: float(v) for k, v in (m or {}).items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}}
            for cid, it, m in self.store.metric_rows(self.run.id, limit)]


class RunView(ModelReads, PopulationReads):
    """One run of an archive, read-only: its config, candidates, lineage, costs and plots' data."""

    def __init__(self, store: Store, run: RunRow):
        self.store, self.run = store, run

    # --- the run ---

    @property
    def name(self) -> str:
        """The run's name."""
        return self.run.name

    @property
    def config(self) -> dict:
        """The run's stored configuration, as a dict."""
        return self.run.config

    @property
    def baselines(self) -> dict:
        """Baseline name -> score, as the run measured them."""
        return dict(self.run.baselines or {})

    def summary(self) -> dict:
        """The numbers `adrs status` shows, read now (a live run moves on)."""
        from adrs.status import run_status

        return run_status(self.store, self.store.get_run(self.run.name))

    # --- candidates ---

    def records(self, ids=None) -> list[dict]:
        """Every candidate (or those in `ids`) as a dict (no source text: see `program`)."""
        return self.store.candidate_dicts(self.run.id, COLUMNS, ids)

    def candidates(self):
        """A pandas DataFrame when pandas is installed, else the list of records."""
        return _table(self.records())

    def best(self, n: int = 5) -> list[dict]:
        """The n best candidates, best first, as candidate records."""
        ids = [c.id for c in self.store.best(self.run.id, n)]
        by_id = {r["id"]: r for r in self.records(ids)}
        return [by_id[i] for i in ids]

    def program(self, candidate_id: int) -> Program:
        """One candidate's program and outcome; UserError if it is not this run's."""
        c = self.store.get_candidate(candidate_id)
        if c is None or c.run_id != self.run.id:
            raise UserError(f"run {self.name} has no candidate {candidate_id}")
        return Program(c.id, c.iteration, c.parent_id, c.status, c.score, c.metrics or {},
                       c.source, c.mutation, c.failure, c.error, dict(c.artifacts or {}))

    def diff(self, candidate_id: int, against: int | None = None) -> str:
        """Unified diff from its parent (or `against`) to the candidate."""
        new = self.program(candidate_id)
        old_id = against if against is not None else new.parent_id
        if old_id is None:
            return ""
        old = self.program(old_id)
        return "".join(difflib.unified_diff(
            old.source.splitlines(keepends=True), new.source.splitlines(keepends=True),
            f"candidate {old.id} (iteration {old.iteration})",
            f"candidate {new.id} (iteration {new.iteration})"))

    # --- lineage ---

    def ancestors(self, candidate_id: int) -> list[int]:
        """The candidate's parent, grandparent, ... up to the initial program (one
        recursive query, not a read of the whole run)."""
        return self.store.ancestor_ids(self.run.id, candidate_id)

    def descendants(self, candidate_id: int) -> list[int]:
        """Every candidate descended from `candidate_id`, breadth first."""
        children = self.store.children(self.run.id)
        out, todo = [], list(children.get(candidate_id, []))
        while todo:
            cid = todo.pop(0)
            out.append(cid)
            todo += children.get(cid, [])
        return out

    def chain_to_best(self) -> list[int]:
        """Ids from the initial program to the best candidate, in order."""
        best = self.store.best(self.run.id, 1)
        if not best:
            return []
        return list(reversed(self.ancestors(best[0].id))) + [best[0].id]

    # --- aggregates ---

    def progress(self) -> list[dict]:
        """Per iteration: the best score so far, overall and per island; its outcome
        (status, failure reason) and the seconds since the run began."""
        best, per_island, out = float("-inf"), {}, []
        start = self.run.created_at
        for iteration, status, score, island, failure, at in self.store.score_series(
                self.run.id):
            if status == "ok":
                best = max(best, score)
                per_island[island] = max(per_island.get(island, float("-inf")), score)
            out.append({"iteration": iteration, "best": best, "islands": dict(per_island),
                        "status": status, "score": score, "failure": failure,
                        "seconds": max(0.0, (at - start).total_seconds()) if at else None})
        return out

    def overview(self) -> dict:
        """The run's headline numbers from aggregate queries only (cheap on any size):
        status, iterations, best, initial, baselines, outcomes, costs per model."""
        run = self.store.get_run(self.run.name) or self.run
        counts, usage = self.store.summary(run.id), self.store.model_usage(run.id)
        best, initial = self.store.best(run.id, 1), self.store.initial(run.id)
        return {"status": run.status, "iterations": self.store.iteration_count(run.id),
                "target": run.iterations, "elapsed_seconds": run.elapsed_seconds,
                "best": best[0].score if best else None, "best_id": best[0].id if best else None,
                "initial": initial.score if initial else None,
                "baselines": dict(run.baselines or {}), "models": usage,
                "cost": sum(u["cost"] for u in usage.values()), "by_status": counts["by_status"],
                "failures": counts["failures"], "duplicates": counts["duplicates"],
                "eval_seconds_saved": counts["eval_seconds_saved"]}

    def islands(self) -> list[dict]:
        """Per island: candidates evaluated and scored, best and mean score."""
        return self.store.island_stats(self.run.id)

    def models(self) -> dict[str, dict]:
        """Per model: calls, tokens in and out, cost, improvements."""
        return self.store.model_usage(self.run.id)

    def failures(self) -> dict[str, int]:
        """Failure reason -> count."""
        return self.store.summary(self.run.id)["failures"]

    def cost_over_time(self) -> list[dict]:
        """Per iteration: cumulative LLM cost and tokens, and the best score so far."""
        cost = tokens = 0.0
        out = []
        for r, p in zip(self.records(), self.progress(), strict=True):
            cost += r["cost"] or 0.0
            tokens += (r["tokens_in"] or 0) + (r["tokens_out"] or 0)
            out.append({"iteration": r["iteration"], "cost": cost, "tokens": tokens,
                        "best": p["best"]})
        return out

    def grid(self) -> dict[tuple[int, ...], tuple[int, float]]:
        """MAP-Elites cells now: cell coordinates -> (candidate id, score)."""
        return {tuple(int(x) for x in cell.split(",")): value
                for cell, value in self.store.grid(self.run.id).items()}


def _table(records: list[dict]):
    try:
        import pandas as pd
    except ImportError:
        return records
    return pd.DataFrame.from_records(records, columns=list(COLUMNS))
